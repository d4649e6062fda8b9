"""The outcome of a GLMM (lib.glmm.response): two-valued text/boolean outcomes, the
success level, and the refusals. Reference: glmer on mlmRev's Contraception with the
N/Y factor ``use`` (tests/reference/glmm_reference.json, case contraception_ri): glmer
counts every level but the first (N) as 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, SpecError
from lib.glmm.family import family
from lib.glmm.fit import fit_glmm
from lib.glmm.response import binary_outcome, binomial_outcome_frame, response_of
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec, RandomTerm
from tests.glmm_reference import case

RI = case("contraception_ri")
SPEC = ModelSpec(outcome="use", fixed=RI.fixed_terms, random=(RandomTerm(group=("district",)),))


@pytest.fixture(scope="module")
def text_fit():
    frame = RI.frame.assign(use=RI.frame["use"].astype(str))
    return fit_glmm(frame, SPEC, ResponseFamily("binomial"))


def test_text_outcome_follows_glmers_rule(text_fit) -> None:
    want = RI.expected
    assert text_fit.outcome_levels.failure == "N"
    assert text_fit.outcome_levels.success == "Y"
    assert not text_fit.outcome_levels.chosen
    assert text_fit.loglik == pytest.approx(want["loglik"], rel=1e-6)
    assert text_fit.loglik >= want["loglik"]
    se = np.array(want["fixef"]["se"])
    assert np.all(np.abs(text_fit.beta - np.array(want["fixef"]["estimate"])) <= 2e-3 * se)


def test_naming_the_other_level_flips_the_signs(text_fit) -> None:
    frame = RI.frame.assign(use=RI.frame["use"].astype(str))
    flipped = fit_glmm(frame, SPEC, ResponseFamily("binomial", success="N"))
    assert flipped.outcome_levels.success == "N" and flipped.outcome_levels.chosen
    assert flipped.loglik == pytest.approx(text_fit.loglik, rel=1e-9)
    np.testing.assert_allclose(flipped.beta, -text_fit.beta, atol=2e-3 * text_fit.se.max())
    np.testing.assert_allclose(flipped.theta, text_fit.theta, rtol=2e-3)


def test_boolean_outcome_counts_true_as_one(text_fit) -> None:
    frame = RI.frame.assign(use=RI.frame["use"].astype(str) == "Y")
    fit = fit_glmm(frame, SPEC, ResponseFamily("binomial"))
    assert (fit.outcome_levels.failure, fit.outcome_levels.success) == ("FALSE", "TRUE")
    assert fit.loglik == pytest.approx(text_fit.loglik, rel=1e-9)
    y, levels = binary_outcome(pd.Series([True, False, True]), "ok", success="true")
    np.testing.assert_array_equal(y, [1.0, 0.0, 1.0])
    assert levels.success == "TRUE"


def test_sorted_order_decides_without_a_success_level() -> None:
    y, levels = binary_outcome(pd.Series(["pass", "fail", "pass"]), "result")
    np.testing.assert_array_equal(y, [1.0, 0.0, 1.0])
    assert (levels.failure, levels.success) == ("fail", "pass")
    y, levels = binary_outcome(pd.Series(["pass", "fail", "pass"]), "result", "fail")
    np.testing.assert_array_equal(y, [0.0, 1.0, 0.0])


def test_numeric_zero_one_can_name_zero_as_success() -> None:
    frame = pd.DataFrame({"y": [0.0, 1.0, 1.0]})
    out, levels = binomial_outcome_frame(frame, "y", ResponseFamily("binomial", success="0"))
    np.testing.assert_array_equal(out["y"], [1.0, 0.0, 0.0])
    assert levels.success == "0"
    same, none = binomial_outcome_frame(frame, "y", ResponseFamily("binomial"))
    assert none is None and same is frame


def test_more_than_two_values_is_refused_with_the_values() -> None:
    with pytest.raises(DataError, match="takes 3: 'A', 'B', 'C'"):
        binary_outcome(pd.Series(["A", "B", "C"]), "grade")
    with pytest.raises(DataError, match="only one value"):
        binary_outcome(pd.Series(["A", "A"]), "grade")
    with pytest.raises(SpecError, match="'maybe' is not a value"):
        binary_outcome(pd.Series(["yes", "no"]), "answer", "maybe")


def test_counts_that_are_not_counts_are_refused() -> None:
    poisson = family("poisson")
    with pytest.raises(DataError, match=r"not whole numbers \(for example 2.5\)"):
        response_of(np.array([1.0, 2.5, 3.0]), "ticks", poisson, None, None)
    with pytest.raises(DataError, match=r"negative values \(for example -1\)"):
        response_of(np.array([1.0, -1.0]), "ticks", poisson, None, None)
    binomial = family("binomial")
    with pytest.raises(DataError, match="name the one that counts as success"):
        response_of(np.array([1.0, 2.0, 1.0]), "y", binomial, None, None)
    with pytest.raises(DataError, match="between 0 and the trials, but it holds 1.5"):
        response_of(np.array([1.5, 1.0]), "s", binomial, np.array([2.0, 2.0]), None)
    with pytest.raises(DataError, match="infinite"):
        response_of(np.array([1.0, 1.0]), "ticks", poisson, None, np.array([-np.inf, 0.0]))


def test_text_outcome_with_trials_is_refused() -> None:
    frame = pd.DataFrame({"s": ["a", "b"], "n": [2, 3]})
    with pytest.raises(DataError, match="must count successes"):
        binomial_outcome_frame(frame, "s", ResponseFamily("binomial", trials="n"))


def test_outcomes_without_variation_are_refused() -> None:
    binomial, poisson = family("binomial"), family("poisson")
    with pytest.raises(DataError, match="no successes"):
        response_of(np.zeros(4), "passed", binomial, None, None)
    with pytest.raises(DataError, match="no failures"):
        response_of(np.array([2.0, 3.0]), "s", binomial, np.array([2.0, 3.0]), None)
    with pytest.raises(DataError, match="0 in every row"):
        response_of(np.zeros(3), "ticks", poisson, None, None)
