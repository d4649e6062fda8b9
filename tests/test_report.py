"""lib.present.report: a self-contained HTML report with the fit's numbers, charts as SVG/PNG."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from lib.charts import scatter as chart_scatter
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.present import report
from lib.table.catalogue import load_bundled

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
RIS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


@pytest.fixture(scope="module")
def fit():
    return fit_lmm(load_bundled("schools"), RIS)


def _scatter(label: str = "A") -> dict:
    points = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 3.0, 1.0, 4.0], "g": [label, label, "B", "B"]}
    )
    return chart_scatter.scatter_chart(points, "x", "y", "g", title="T").to_dict()


def test_report_holds_the_fits_numbers(fit):
    text = report.build_report("Report", ["Data: schools"], report.fit_sections(fit))
    assert text.startswith("<!DOCTYPE html>")
    assert html.escape(fit.formula) in text
    assert f"{fit.criterion:,.4f}" in text  # 916.7838
    for b, se in zip(fit.beta, fit.beta_se, strict=True):
        assert f"<td>{b:,.4f}</td>" in text and f"<td>{se:,.4f}</td>" in text
    for v in fit.varcorr.terms[0].variances:
        assert f"<td>{v:,.4f}</td>" in text
    assert f"<td>{fit.varcorr.residual_variance:,.4f}</td>" in text
    assert f"<td>{fit.icc.adjusted:,.4f}</td>" in text
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org", "")


def test_hostile_text_is_escaped_everywhere():
    frame = pd.DataFrame({HOSTILE: [1.5]}, index=pd.Index([HOSTILE], name=HOSTILE))
    section = report.Section(
        HOSTILE,
        text=(HOSTILE,),
        tables=((HOSTILE, frame, True),),
        charts=((HOSTILE, _scatter(HOSTILE)),),
        code=HOSTILE,
        notes=(HOSTILE,),
    )
    text = report.build_report(HOSTILE, [HOSTILE], [section])
    assert "<script" not in text and "<img" not in text
    assert html.escape(HOSTILE) in text
    svg = re.search(r"<svg.*?</svg>", text, re.S).group(0)
    assert report.svg_is_safe(svg)
    assert "&lt;script&gt;" in svg  # the label as text in the chart's legend


def test_svg_safety_check():
    assert report.svg_is_safe('<svg xmlns="http://www.w3.org/2000/svg"><text>a</text></svg>')
    assert not report.svg_is_safe('<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
    assert not report.svg_is_safe('<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>')
    assert not report.svg_is_safe(
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:x()">a</a></svg>'
    )
    assert not report.svg_is_safe("<svg><unclosed>")


def test_charts_render_without_a_browser():
    spec = _scatter()
    assert spec["width"] == "container" or spec.get("layer")
    fixed = report.static_spec(spec, 640)
    assert "container" not in str(fixed)
    svg = report.chart_svg(spec)
    assert svg.lstrip().startswith("<svg") and 'width="' in svg
    png = report.chart_png(spec)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_html_formats_like_the_app():
    frame = pd.DataFrame(
        {"Estimate": [27.4288, np.nan], "Pr(>|t|)": [1e-20, 0.0123], "n": [3, 4]},
        index=["(Intercept)", "x"],
    )
    out = report.table_html(frame)
    assert "<td>27.4288</td>" in out and "<td>&lt; 2e-16</td>" in out
    assert "<td>0.0123</td>" in out and "<td>3</td>" in out and "<td></td>" in out


def test_report_notes_dropped_columns_with_lme4s_message(fit):
    sections = report.fit_sections(fit, dropped=("typeSngl",))
    fixed = next(s for s in sections if s.heading == "Fixed effects")
    assert fixed.notes[-1] == (
        "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient "
        "(typeSngl): they are combinations of earlier columns."
    )
    text = report.build_report("Report", [], sections)
    assert "dropping 1 column / coefficient (typeSngl)" in text
    plain = next(s for s in report.fit_sections(fit) if s.heading == "Fixed effects")
    assert len(plain.notes) == 1


def test_criteria_say_their_likelihood_and_add_the_ml_refit(fit):
    """A REML fit's AIC compares only models with the same fixed effects: it is labelled
    (REML), and the ML refit's criteria, the ones Compare and Ladder use, join it."""
    from lib.classroom.comparison import ml_spec

    ml = fit_lmm(load_bundled("schools"), ml_spec(fit.spec))
    table = report.criteria_table(fit, ml)
    assert table.index.tolist() == [
        "REML criterion",
        "AIC (REML)",
        "BIC (REML)",
        "logLik (REML)",
        "AIC (ML)",
        "BIC (ML)",
        "logLik (ML)",
        "Observations",
    ]
    assert table.loc["AIC (REML)", "Value"] == fit.aic
    assert table.loc["AIC (ML)", "Value"] == ml.aic != fit.aic
    only_ml = report.criteria_table(ml)
    assert only_ml.index.tolist() == [
        "deviance",
        "AIC (ML)",
        "BIC (ML)",
        "logLik (ML)",
        "Observations",
    ]
    text = report.build_report("R", [], report.fit_sections(fit, ml_fit=ml))
    assert f"<td>AIC (ML)</td><td>{ml.aic:,.4f}</td>" in text
