"""Likelihood-ratio comparisons against lme4's anova() (refits REML fits with ML)."""

from __future__ import annotations

import math

import pytest

from lib.errors import SpecError
from lib.lmm import anova
from tests.lmm_reference import frame, reference, spec_from_json

COMPARISONS = [c["name"] for c in reference()["comparisons"]]


@pytest.mark.parametrize("name", COMPARISONS)
def test_anova_table_matches_lme4(name):
    comp = next(c for c in reference()["comparisons"] if c["name"] == name)
    result = anova(frame(comp["data"]), [spec_from_json(s) for s in comp["specs"]])
    assert result.refitted_ml == comp["refitted_ml"]
    assert [row.formula for row in result.rows] == [row["formula"] for row in comp["table"]]
    for mine, ref in zip(result.rows, comp["table"], strict=True):
        assert mine.npar == ref["npar"]
        for key in ("aic", "bic", "loglik", "deviance"):
            assert getattr(mine, key) == pytest.approx(ref[key], rel=1e-6), key
        if ref["chisq"] is None:
            assert math.isnan(mine.chisq)
        else:
            # Chisq is a difference of two deviances, each good to 1e-6 relative.
            assert mine.chisq == pytest.approx(ref["chisq"], rel=1e-5, abs=1e-5)
            assert mine.df == ref["df"]
            if ref["p"] is None:
                assert math.isnan(mine.p)
            else:
                assert mine.p == pytest.approx(ref["p"], rel=1e-4, abs=1e-12)


def test_anova_needs_two_models_on_same_outcome():
    comp = reference()["comparisons"][0]
    specs = [spec_from_json(s) for s in comp["specs"]]
    with pytest.raises(SpecError, match="at least 2 models"):
        anova(frame(comp["data"]), specs[:1])
    other = specs[1].with_changes(outcome="Days", fixed=())
    with pytest.raises(SpecError, match="same outcome"):
        anova(frame(comp["data"]), [specs[0], other])
