"""lib.present.notes: the plain-language conditioning note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.present.notes import conditioning_note
from lib.table.catalogue import load_bundled


@pytest.fixture(scope="module")
def years():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(12), 15)
    year = 2000 + np.tile(np.arange(15), 12) + rng.normal(0, 0.1, g.size)
    u0, u1 = rng.normal(0, 2, 12), rng.normal(0, 0.3, 12)
    y = 1e6 * (5 + u0[g] + (0.4 + u1[g]) * (year - 2007) + rng.normal(0, 1, g.size))
    return pd.DataFrame({"g": g.astype(str), "year": year, "price": y})


def test_no_note_when_nothing_was_rescaled():
    fit = fit_lmm(load_bundled("schools"), ModelSpec.one_factor("test_score", "school"))
    assert not fit.conditioning.applied
    assert conditioning_note(fit) is None


def test_note_names_what_was_centred_and_scaled(years):
    spec = ModelSpec.one_factor("price", "g", fixed=("year",), random_slopes=("year",))
    fit = fit_lmm(years, spec)
    assert fit.conditioning.applied
    note = conditioning_note(fit)
    assert note == (
        "To keep the optimiser's search well conditioned, the outcome price and year were "
        "centred and scaled while fitting; every number shown is mapped back and reported "
        "in the original units."
    )


def test_uncorrelated_random_slope_only_scaled(years):
    spec = ModelSpec.one_factor(
        "price", "g", random_intercept=False, random_slopes=("year",)
    ).with_changes(fixed=())
    fit = fit_lmm(years.assign(price=years["price"] / 1e6), spec)
    assert fit.conditioning.applied
    assert fit.conditioning.slope_scale  # year rescaled inside the random term only
    note = conditioning_note(fit)
    assert "year was scaled while fitting" in note
    assert "centred" not in note
