"""Model page, Diagnostics: the readings shown are built from lib's numbers."""

from __future__ import annotations

from conftest import plain

from lib.lmm import fit_lmm
from lib.lmm.diagnostics import diagnose, group_spreads, row_groups
from lib.model.spec import ModelSpec
from lib.present.diagnostics_text import group_spread_reading, qq_reading, residuals_vs_fitted
from lib.present.numbers import p_text
from lib.table.catalogue import load_bundled

RIS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


def _meanings(at) -> list[str]:
    """Every "what this means" paragraph; a reading may share its Markdown element with
    the next panel's heading (one element fewer per rerun, ui.views.diagnostics)."""
    prefix = ":material/lightbulb: **What this means:** "
    paragraphs = [p for m in at.markdown for p in m.value.split("\n\n")]
    return [plain(p[len(prefix) :]) for p in paragraphs if p.startswith(prefix)]


def test_diagnostics_readings_equal_lib(open_page):
    at = open_page("pages/3_Model.py", {"random_slope": "true"})
    assert not at.exception
    data = load_bundled("schools")
    fit = fit_lmm(data, RIS)
    d = diagnose(fit)
    shown = _meanings(at)
    assert residuals_vs_fitted(d.check) in shown
    spreads = group_spreads(d.scaled, row_groups(data, RIS, ["school"]))
    assert group_spread_reading(spreads) in shown
    assert qq_reading(d.residual_qq, "scaled residuals") in shown
    assert f"W′ = {d.residual_qq.w:.3f}, {p_text(d.residual_qq.p)}" in "\n".join(shown)
    assert qq_reading(d.ranef[0].qq, "random intercepts of school") in shown
    assert qq_reading(d.ranef[1].qq, "random slopes of study_time of school") in shown
    headings = [plain(p) for m in at.markdown for p in m.value.split("\n\n")]
    assert "**Normal QQ plot of the scaled residuals**" in headings


def test_diagnostics_on_a_three_level_model(open_page):
    at = open_page("pages/3_Model.py", {"data": "pupils"})
    assert not at.exception
    shown = "\n".join(_meanings(at))
    assert "random intercepts of class:school" in shown
    assert "random intercepts of school" in shown


def test_diagnostic_charts_are_marked_and_small(open_page):
    import json

    from lib.charts.style import MAX_MARKS

    at = open_page("pages/3_Model.py", {"random_slope": "true"})
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    diagnostics = [s for s in specs if s.get("usermeta", {}).get("role") == "diagnostics"]
    # residuals vs fitted, per school, QQ of residuals, QQ of each of the 2 random effects
    assert len(diagnostics) == 5
    for spec in diagnostics:
        assert sum(len(v) for v in spec.get("datasets", {}).values()) <= MAX_MARKS
