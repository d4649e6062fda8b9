"""The GLMM families against R's binomial() / poisson() family objects
(tests/reference/glmm_engine_check.R -> glmm_engine_check.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lib.errors import SpecError
from lib.glmm.family import EPS, family

REF = json.loads((Path(__file__).parent / "reference" / "glmm_engine_check.json").read_text())
FAM = REF["family"]

CASES = [("binomial", "logit"), ("binomial", "probit"), ("binomial", "cloglog"), ("poisson", "log")]


@pytest.mark.parametrize(("name", "link"), CASES)
def test_family_functions_match_r(name: str, link: str) -> None:
    fam = family(name, link)
    want = FAM["values"][f"{name}_{link}"]
    key = "binomial" if name == "binomial" else "poisson"
    eta = np.array(FAM["eta"])
    mu = np.array(FAM[f"mu_{key}"])
    y = np.array(FAM[f"y_{key}"])
    w = np.array(FAM[f"w_{key}"])
    np.testing.assert_allclose(fam.linkinv(eta), want["linkinv"], rtol=1e-13)
    np.testing.assert_allclose(fam.mu_eta(eta), want["mu_eta"], rtol=1e-13)
    np.testing.assert_allclose(fam.linkfun(mu), want["linkfun"], rtol=1e-13)
    np.testing.assert_allclose(fam.variance(mu), want["variance"], rtol=1e-13)
    np.testing.assert_allclose(fam.dev_resids(y, mu, w), want["dev_resids"], rtol=1e-12, atol=1e-15)
    n = w if name == "binomial" else np.ones_like(w)
    assert fam.aic(y, n, mu, w) == pytest.approx(want["aic"], rel=1e-12)


def test_linkinv_clamps_as_lme4() -> None:
    logit = family("binomial")
    assert logit.linkinv(np.array([-800.0]))[0] == EPS
    assert logit.linkinv(np.array([800.0]))[0] == 1.0 - EPS
    assert family("poisson").linkinv(np.array([-800.0]))[0] == EPS


def test_default_links_and_bad_links() -> None:
    assert family("binomial").link == "logit"
    assert family("poisson").link == "log"
    with pytest.raises(SpecError, match="link"):
        family("poisson", "logit")
    with pytest.raises(SpecError, match="family"):
        family("gamma")
