"""lib.present.explain without Streamlit: the singular-fit offer is a value the app maps to
its own toggles, and a model the app cannot change gets the explanation without an offer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec, RandomTerm
from lib.present import explain
from lib.present.explain import Simplification
from lib.table.catalogue import load_bundled

CROSSED = Path(__file__).parent / "reference" / "data" / "singular_crossed.csv"


def test_one_term_offer_names_the_only_level():
    # lme4: isSingular TRUE, the intercept-slope correlation -1.000 (see test_model_page).
    spec = ModelSpec.one_factor("invest", "firm", random_slopes=("value",))
    fit = fit_lmm(load_bundled("grunfeld"), spec)
    text, offer = explain.singular(fit)
    assert "perfectly correlated" in text and text.endswith("without the correlation:")
    assert offer == Simplification("correlation", None, "Remove the correlation")


def test_several_terms_offer_only_what_the_app_can_change():
    # The reference set's crossed model whose rater variance lme4 estimates as 0.
    spec = ModelSpec(
        outcome="y",
        fixed=("x",),
        random=(RandomTerm(group=("site",)), RandomTerm(group=("rater",))),
    )
    fit = fit_lmm(pd.read_csv(CROSSED), spec)
    assert fit.singular
    text, offer = explain.singular(fit)
    assert "between rater groups (`(1 | rater)`)" in text
    assert text.endswith("Try the model without it:")
    assert offer == Simplification("intercept", "rater", "Drop the term `(1 | rater)`")
    asked = []
    text, offer = explain.singular(fit, lambda column: asked.append(column) or False)
    assert offer is None and asked == ["rater"]
    assert "rater groups" in text and "Try the model" not in text
