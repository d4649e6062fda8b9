"""The GLMM comparison with glmer's nAGQ (issue 16): nAGQ > 1 for the models with one
scalar random effect, Laplace for the others, set against lme4's fits and anova() of
the same four models (tests/reference/glmm_compare_nagq.R, its JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from lib.classroom.comparison import compare_glmm_specs
from lib.errors import SpecError
from lib.glmm.agq import agq_applies
from lib.glmm.anova import ComparableGlmm, check_comparable
from lib.glmm.fit import fit_glmm
from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.table.catalogue import load_bundled

REF = json.loads(
    (Path(__file__).parent / "reference" / "glmm_compare_nagq.json").read_text(encoding="utf-8")
)
SPECS = {
    "null": "use ~ 1 + (1 | district)",
    "slope": "use ~ 1 + (0 + age | district)",
    "intercept": "use ~ 1 + age + (1 | district)",
    "both": "use ~ 1 + age + (1 + age | district)",
}
BINOMIAL = ResponseFamily("binomial")


@pytest.fixture(scope="module")
def compared():
    specs = {k: parse_formula(f, reml=False) for k, f in SPECS.items()}
    return {
        nagq: compare_glmm_specs(load_bundled("contraception"), specs, BINOMIAL, nagq)
        for nagq in (9, 25)
    }


def test_glmers_rule_one_scalar_random_effect():
    assert agq_applies(parse_formula(SPECS["null"]))
    assert agq_applies(parse_formula(SPECS["slope"]))  # (0 + age | district): one column
    assert not agq_applies(parse_formula(SPECS["both"]))
    assert not agq_applies(parse_formula("use ~ age + (1 | district) + (1 | urban)"))


@pytest.mark.parametrize("nagq", [9, 25])
def test_each_fit_is_lme4s_with_the_nagq_that_applies(compared, nagq):
    fits = {m.label: f for m, f in zip(compared[nagq].models, compared[nagq].fits, strict=True)}
    for label in ("null", "slope", "intercept", "both"):
        ref = REF["fits"][f"{label}_agq{nagq}" if label != "both" else "both_laplace"]
        fit = fits[label].fit
        assert fit.nagq == ref["nAGQ"]
        assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-6)
        assert fit.loglik >= ref["loglik"] - 1e-7 * abs(ref["loglik"])  # never below lme4's
        assert fit.theta == pytest.approx(ref["theta"], rel=2e-3)
        assert fit.beta == pytest.approx(ref["fixef"], rel=2e-3, abs=1e-5)


def test_the_mixed_table_is_lme4s_anova(compared):
    ref = REF["anova_agq9"]
    result = compared[9]
    assert [m.label for m in result.models] == ["null", "slope", "intercept", "both"]
    assert [m.npar for m in result.models] == ref["npar"]
    assert [m.loglik for m in result.models] == pytest.approx(ref["loglik"], rel=1e-6)
    # lme4 tests each model against the one before; the one rule tests only nested pairs:
    # intercept (AGQ) against null (AGQ), both (Laplace) against intercept (AGQ).
    # lme4's own test of intercept is against slope (not nested): its Chisq is the logLik
    # difference, which the one rule uses for the nested pair with null.
    intercept, both = result.model("intercept"), result.model("both")
    want = 2 * (ref["loglik"][2] - ref["loglik"][0])
    assert intercept.chisq == pytest.approx(want, rel=1e-5)
    assert intercept.p == pytest.approx(stats.chi2.sf(want, 1), rel=1e-4)
    assert not result.pair("slope", "intercept").nested
    assert both.chisq == pytest.approx(ref["chisq"][3], rel=1e-4)
    assert both.p == pytest.approx(ref["p"][3], rel=1e-4)


def test_laplace_and_agq_are_not_mixed_when_the_outcome_has_a_saturated_constant():
    cbpp = load_bundled("contraception").assign(n=3, k=lambda d: (d["use"] == "Y") * 2)
    family = ResponseFamily("binomial", trials="n")
    agq = fit_glmm(cbpp, parse_formula("k ~ 1 + (1 | district)"), family, 9)
    laplace = fit_glmm(cbpp, parse_formula("k ~ 1 + age + (1 | district)"), family, 1)
    with pytest.raises(SpecError, match="cannot be compared"):
        check_comparable(
            [
                ComparableGlmm(agq, parse_formula("k ~ 1 + (1 | district)"), family),
                ComparableGlmm(laplace, parse_formula("k ~ 1 + age + (1 | district)"), family),
            ]
        )


def test_the_compare_page_uses_laplace_for_all_when_the_kinds_would_not_compare():
    from lib.classroom.glmm_nagq import used_nagq
    from ui.views.compare import mixed_specs

    specs = mixed_specs("y", "x", "g", reml=False)
    assert used_nagq(25, BINOMIAL, specs)[0] == 25  # 0/1: mixed, said in one sentence
    nagq, note = used_nagq(25, ResponseFamily("poisson"), specs)
    assert nagq == 1
    assert note.startswith("All four are Laplace fits: Random intercept and slope cannot use")
    assert used_nagq(9, ResponseFamily("binomial", trials="n"), specs)[0] == 1
    assert used_nagq(1, ResponseFamily("poisson"), specs) == (1, None)
    three = {k: v for k, v in specs.items() if agq_applies(v)}
    assert used_nagq(9, ResponseFamily("poisson"), three) == (9, None)
