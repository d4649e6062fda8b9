"""lme4's convergence check and the optimizer record of a GLMM fit (lib.glmm.convergence).

References: lme4:::checkConv on given derivatives (tests/reference/glmm_features.R ->
glmm_features.json, ``check_conv``) and the exact Richardson Hessian of glmer's deviance
at the cbpp optimum (glmm_reference.json, ``exact.hessian``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lib.glmm.convergence import SINGULAR_MESSAGE, check_convergence
from lib.glmm.fit import fit_glmm
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec, RandomTerm
from tests.glmm_reference import case

FEATURES = json.loads(
    (Path(__file__).parent / "reference" / "glmm_features.json").read_text(encoding="utf-8")
)
CBPP = case("cbpp_laplace")
SPEC = ModelSpec(outcome="incidence", fixed=("period",), random=(RandomTerm(group=("herd",)),))


@pytest.fixture(scope="module")
def cbpp_fit():
    return fit_glmm(CBPP.frame, SPEC, ResponseFamily("binomial", trials="size"))


@pytest.mark.parametrize("conv", FEATURES["check_conv"], ids=lambda c: c["id"])
def test_messages_are_lme4s(conv: dict) -> None:
    H = np.array(conv["hessian"], dtype=float)
    singular = conv["coefs"][0] < 1e-4
    check = check_convergence(
        np.array(conv["gradient"]), H, 1, singular, ("herd.(Intercept)", "a", "b")
    )
    assert list(check.messages) == conv["messages"]
    assert check.converged == (conv["id"] in ("fine", "large_eigenvalue", "singular"))


def test_scaled_gradient_is_lme4s_number() -> None:
    conv = next(c for c in FEATURES["check_conv"] if c["id"] == "large_gradient")
    H = np.array(conv["hessian"], dtype=float)
    check = check_convergence(np.array(conv["gradient"]), H, 1, False, ("t", "a", "b"))
    shown = float(conv["messages"][0].split("= ")[1].split(" ")[0])
    assert check.max_gradient == pytest.approx(shown, rel=1e-5)


def test_fit_records_its_derivatives_and_passes(cbpp_fit) -> None:
    check = cbpp_fit.convergence
    want = CBPP.expected
    assert check.parameter_names == tuple(want["theta_names"]) + tuple(want["fixef"]["names"])
    np.testing.assert_allclose(check.hessian, want["exact"]["hessian"], rtol=1e-5)
    assert check.max_gradient < 1e-4
    assert check.messages == () and check.converged
    assert want["conv_messages"] == []
    assert check.hessian_condition == pytest.approx(
        np.linalg.cond(np.array(want["exact"]["hessian"])), rel=1e-4
    )


def test_optimizer_record_lists_stages_and_evaluations(cbpp_fit) -> None:
    record = cbpp_fit.optimizer
    assert len(record.stages) == 3
    assert record.stages[0].startswith("nAGQ = 0 stage: BOBYQA")
    assert record.stages[1].startswith("Laplace: BOBYQA over (theta, beta)")
    assert f"({cbpp_fit.evaluations[1]} evaluations)" in record.stages[1]
    # Richardson over 5 parameters: 1 + 2 r n + r n (n - 1) points with r = 4.
    assert "(121 evaluations)" in record.stages[2]
    assert record.n_evaluations == sum(cbpp_fit.evaluations) + 121
    assert record.converged
    np.testing.assert_array_equal(record.theta_start, [1.0])
    np.testing.assert_array_equal(record.theta_final, cbpp_fit.theta)


def test_singular_fit_reports_the_boundary() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {"y": np.tile([1.0, 2.0, 3.0, 4.0], 10), "g": np.repeat([f"g{i}" for i in range(10)], 4)}
    )
    spec = ModelSpec(outcome="y", random=(RandomTerm(group=("g",)),))
    fit = fit_glmm(frame, spec, ResponseFamily("poisson"))
    assert fit.convergence.messages == (SINGULAR_MESSAGE,)
    assert fit.convergence.singular and fit.convergence.converged
