"""Model page: report and chart downloads; the report holds the numbers the page shows."""

from __future__ import annotations

import html
from types import SimpleNamespace

from conftest import frame_with, labelled

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled
from ui.views import report as report_view

RIS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


def test_report_buttons_and_report_numbers_equal_the_page(open_page):
    at = open_page("pages/3_Model.py", {"random_slope": "true"})
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert {"Report (HTML)", "Chart (PNG)", "Chart (SVG)"} <= set(labels)
    data = load_bundled("schools")
    fit = fit_lmm(data, RIS)
    sel = SimpleNamespace(source="bundled:schools", frame=data, title="Schools")
    text = report_view.report_html(sel, fit, None).decode("utf-8")
    fixef = labelled(frame_with(at, "Estimate"))
    for term in ("(Intercept)", "study_time"):
        for column in ("Estimate", "Std. Error"):
            assert f"<td>{fixef.loc[term, column]}</td>" in text
    varcorr = frame_with(at, "Std.Dev.")
    for value in varcorr["Variance"]:
        assert f"<td>{value}</td>" in text
    assert html.escape(fit.formula) in text
    # the page's plain-language readings, without Markdown
    assert "The points bend away from the line (Shapiro-Francia W′" in text
    assert "**" not in text and "\\_" not in text
    assert text.count("<svg") >= 4  # residuals, per school, QQ, random effects


def test_plain_removes_markdown_escapes():
    assert report_view.plain(r"**test\_score** is `x` \(a\)") == "test_score is x (a)"
