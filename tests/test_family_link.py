"""``ui.family_link.repaired``: which of a link's family values fit the data, and the note
for each one that does not (the fit's own checks, ``lib.glmm.response.check_outcome``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError
from lib.glmm.response import check_outcome
from lib.model.response import ResponseFamily
from lib.table.outcome_kind import outcome_kind
from ui.family_link import repaired

COUNTS = pd.DataFrame(
    {
        "herd": ["a", "a", "b", "b", "c", "c"],
        "incidence": [2, 3, 0, 1, 4, 0],
        "size": [14, 12, 9, 5, 22, 8],
        "too_few": [1, 1, 1, 1, 1, 1],
        "log_days": [0.0, 1.0, -np.inf, 2.0, 1.5, 0.3],
        "label": list("xyzxyz"),
    }
)


def _repaired(**asked):
    return repaired(asked, COUNTS, outcome_kind(COUNTS, "incidence"), "incidence")


def test_successes_out_of_trials_are_kept():
    values, notes = _repaired(family="binomial", trials="size", link="cloglog")
    assert notes == []
    assert values == {
        "family": "binomial",
        "link": "cloglog",
        "trials": "size",
        "offset": None,
        "success": None,
    }


def test_trials_fewer_than_the_successes_are_ignored_and_the_family_with_them():
    values, notes = _repaired(family="binomial", trials="too_few")
    # Without trials a count is not a binomial outcome either: both go, the family first.
    assert values["family"] == "gaussian" and values["trials"] is None
    assert notes == [
        "family='binomial': The outcome 'incidence' must be whole numbers of successes "
        "between 0 and the trials, but it holds 2."
    ]


def test_an_offset_is_kept_when_the_fit_would_take_it():
    # The row with log(0) = -inf is left out as the fit leaves it out (complete rows).
    values, notes = _repaired(family="poisson", offset="log_days", success="x")
    assert values["family"] == "poisson" and values["offset"] == "log_days"
    assert notes == ["success='x': only a binomial model has a level counted as success"]


def test_a_text_trials_column_and_an_unknown_family_are_named():
    values, notes = _repaired(family="negbin", trials="label", offset="size")
    assert values["family"] == "gaussian"
    assert notes == [
        "family='negbin': the family is gaussian, binomial or poisson",
        "trials='label': only a binomial model takes a trials column",
        "offset='size': an offset column is for binomial and Poisson models",
    ]
    values, notes = _repaired(family="binomial", trials="label")
    assert notes[0] == "trials='label': that column is not numeric"


def test_check_outcome_raises_what_a_fit_would():
    with pytest.raises(DataError, match="must be counts 0, 1, 2"):
        check_outcome(COUNTS.assign(incidence=COUNTS["incidence"] + 0.5), "incidence",
                      ResponseFamily("poisson"))  # fmt: skip
    with pytest.raises(DataError, match="holds text, which a linear model cannot fit"):
        check_outcome(COUNTS, "label", ResponseFamily())
    check_outcome(COUNTS, "incidence", ResponseFamily("binomial", trials="size"))
