"""The plain-language sentences never contradict the numbers they describe (issue 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import plain

from lib.errors import FitError
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.present import explain
from lib.present.numbers import p_text
from lib.table.catalogue import load_bundled
from ui.state import UploadedTable

SCHOOLS = load_bundled("schools")
FULL = ModelSpec.one_factor("test_score", "school", ("study_time",), random_slopes=("study_time",))
RS_ONLY = ModelSpec.one_factor(
    "test_score", "school", random_intercept=False, random_slopes=("study_time",)
)


def test_significance_follows_the_satterthwaite_p():
    """The full model's slope has t = 4.07 but p = 0.0555 on 2 df: not 'clearly different'."""
    fit = fit_lmm(SCHOOLS, FULL)
    assert abs(fit.beta_t[1]) > 1.96 and 0.05 < fit.beta_p[1] < 0.06
    text = plain(explain.fixef(fit))
    assert "1.96" not in text
    assert (
        f"Not clearly different from 0 at the 5% level: study_time ({p_text(fit.beta_p[1])})"
        in text
    )
    assert "(Intercept) is clearly different from 0 (p < 0.05)" in text
    assert fit.beta_p[0] < 0.05


def test_random_slope_without_fixed_slope_is_not_called_a_deviation():
    fit = fit_lmm(SCHOOLS, RS_ONLY)
    assert "study_time" not in fit.fixef_names
    text = plain(explain.ranef(fit))
    assert "above the fixed effect" not in text and "relative to the fixed effect" not in text
    b = fit.ranef[0].modes[:, 0]
    hi = fit.ranef[0].levels[int(np.argmax(b))]
    assert f"{hi} has the highest slope of study_time ({b.max():.3f})" in text
    assert "2.298" in text  # the tutorial's St Mary's slope
    assert "no fixed slope" in text


def test_deviation_sign_is_shown_when_there_is_a_fixed_effect():
    fit = fit_lmm(SCHOOLS, ModelSpec.one_factor("test_score", "school", ("study_time",)))
    text = plain(explain.ranef(fit))
    b = fit.ranef[0].modes[:, 0]
    assert f"(+{b.max():.3f} relative to the fixed effect)" in text
    assert f"(−{abs(b.min()):.3f})" in text


def test_zero_icc_with_slope_variance_is_explained():
    fit = fit_lmm(SCHOOLS, RS_ONLY)
    slope_var = fit.varcorr.terms[0].variances[0]
    assert round(slope_var, 3) == 4.034 and fit.icc.adjusted == 0 and fit.r2.conditional == 0
    text = plain(explain.icc_r2(fit))
    assert "0.0% of the variance" in text
    assert f"random slope of study_time (variance {slope_var:.3f})" in text
    assert "Neither the ICC nor the R² counts" in text
    assert "warranted" not in text


def _pupils() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 120
    return pd.DataFrame(
        {
            "pupil": [f"p{i:03d}" for i in range(n)],
            "x": rng.normal(size=n),
            "score": rng.normal(size=n),
        }
    )


def test_one_row_per_group_is_refused_not_concluded():
    """One row per group: the group variance cannot be told apart from the residual.

    lme4 refuses such a model (check.nobs.vs.nlev); so does the engine, with a
    message that says why, instead of an ICC that "warrants" a multilevel model.
    """
    with pytest.raises(FitError, match="Every row is its own group"):
        fit_lmm(_pupils(), ModelSpec.one_factor("score", "pupil", ("x",)))
    ok = fit_lmm(SCHOOLS, ModelSpec.one_factor("test_score", "school", ("study_time",)))
    assert "warranted" in explain.icc_r2(ok) and ok.icc.adjusted >= 0.10


def test_model_page_refuses_one_row_per_group(open_page):
    from conftest import APP, TIMEOUT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.switch_page("pages/3_Model.py")
    content = _pupils().to_csv(index=False).encode()
    at.session_state["_upload"] = UploadedTable.from_bytes("pupils.csv", content)
    at.session_state["data"] = "your upload"
    at.session_state["y"], at.session_state["x"] = "score", "x"
    at.session_state["group"] = "pupil"
    at.run()
    assert not at.exception
    errors = " ".join(plain(e.value) for e in at.error)
    assert "Every row is its own group" in errors, errors
    assert not any("warranted" in m.value for m in at.markdown)


@pytest.mark.parametrize("spec", [FULL, RS_ONLY])
def test_no_sentence_says_1_96(spec):
    fit = fit_lmm(SCHOOLS, spec)
    for text in (explain.fixef(fit), explain.ranef(fit), explain.icc_r2(fit)):
        assert "1.96 marks" not in text
