"""Presentation mode (present=1): model named, preset highlighted, results first."""

from __future__ import annotations

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled

PAGE = "pages/3_Model.py"


def test_present_names_the_model_and_shows_key_numbers_first(open_page):
    at = open_page(PAGE, query={"present": "1", "random_slope": "true"})
    assert not at.exception
    spec = ModelSpec.one_factor(
        "test_score", "school", ("study_time",), random_slopes=("study_time",)
    )
    fit = fit_lmm(load_bundled("schools"), spec)
    texts = [m.value for m in at.markdown]
    heading = next(t for t in texts if t.startswith("**Random intercept and slope**"))
    assert spec.formula() in heading
    numbers = next(t for t in texts if t.startswith("**REML criterion**"))
    assert f"{fit.criterion:,.1f}" == "916.8" and "**REML criterion** 916.8" in numbers
    assert f"**AIC (REML)** {fit.aic:,.1f}" in numbers
    assert f"**BIC (REML)** {fit.bic:,.1f}" in numbers
    # Key numbers come before the first section heading; a table of contents links them.
    order = [type(e).__name__ + ":" + str(getattr(e, "value", "")) for e in at.main]
    first_numbers = next(i for i, e in enumerate(order) if "**REML criterion**" in e)
    first_section = next(i for i, e in enumerate(order) if "Scaled residuals" in e)
    assert first_numbers < first_section
    assert any("On this page:" in t and "(#fixed-effects)" in t for t in texts)
    # Tables are static (st.table) so their text can be enlarged.
    assert len(at.table) >= 4 and len(at.dataframe) <= 1
    buttons = {
        b.label: b.proto.type for b in at.button if b.label in ("Intercept + slope", "Null model")
    }
    assert buttons == {"Intercept + slope": "primary", "Null model": "secondary"}
    assert at.query_params["present"] in ("1", ["1"])


def test_without_present_the_page_is_unchanged(open_page):
    at = open_page(PAGE)
    assert not at.exception
    assert not any(m.value.startswith("**REML criterion**") for m in at.markdown)
    assert len(at.table) == 0
    # The active preset is highlighted in both modes.
    primary = [b.label for b in at.button if b.proto.type == "primary"]
    assert primary == ["Random intercept"]
