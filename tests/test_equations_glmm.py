"""lib.present.equations_glmm: a generalized model's equations (link, no residual)."""

from __future__ import annotations

from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.present.equations_glmm import fitted_glmm_equations, glmm_equations
from tests.test_api_glmm import owls


def test_logit_with_trials_and_three_levels():
    spec = parse_formula("y ~ x + (1 | school/class)")
    eq = glmm_equations(spec, ResponseFamily("binomial", trials="n"), ["(Intercept)", "x"])
    assert eq.level1 == (
        r"\operatorname{logit}(\pi_{ijk}) = \beta_{0jk} + \beta_{1} \cdot \text{x}_{ijk}"
    )
    assert eq.combined.endswith("+ u_{0j} + v_{0k}")
    assert eq.distributions[0] == (
        r"\text{y}_{ijk} \sim \operatorname{Binomial}(\text{n}_{ijk},\ \pi_{ijk})"
    )
    assert not any(r"\varepsilon" in line for line in (*eq.level1_rows, *eq.combined_rows))


def test_bernoulli_and_probit():
    spec = parse_formula("pass ~ hours + (hours | school)")
    eq = glmm_equations(spec, ResponseFamily("binomial", "probit"), ["(Intercept)", "hours"])
    assert eq.level1.startswith(r"\operatorname{probit}(\pi_{ij}) = ")
    assert eq.distributions[0] == r"\text{pass}_{ij} \sim \operatorname{Bernoulli}(\pi_{ij})"
    assert len(eq.distributions) == 2  # the outcome's, and the random term's


def test_fitted_poisson_with_offset():
    m = owls()
    eq = fitted_glmm_equations(m.fit, m.spec, m.response)
    assert eq.combined.startswith(r"\log(\mu_{ij}) = \text{logBroodSize}_{ij} + 3.790 - 0.587")
    assert eq.distributions == (
        r"\text{SiblingNegotiation}_{ij} \sim \operatorname{Poisson}(\mu_{ij})",
        r"u_{0j} \sim N(0,\ 0.208)",
    )
    assert eq.level1_rows[0].startswith(r"\log(\mu_{ij}) = \text{logBroodSize}_{ij} + ")
    assert eq.combined_rows[-1] == "+ u_{0j}"
