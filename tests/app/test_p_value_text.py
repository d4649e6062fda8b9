"""One p-value, one text: the Model page's table, its "what this means" sentence and the
report write the same number the same way (``lib.present.numbers.pval``)."""

from __future__ import annotations

from types import SimpleNamespace

from conftest import frame_with, labelled, plain

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.present.numbers import p_text, pval
from lib.table.catalogue import load_bundled
from ui.views import report as report_view

PAGE = "pages/3_Model.py"
# dietox with Evit (vitamin E dose) as the predictor: a p-value between 0.1 and 1, where
# three significant digits (R) and four decimals (what the page used to show) differ.
SPEC = ModelSpec.one_factor("Weight", "Pig", ("Evit",))


def test_model_table_explanation_and_report_write_one_p_value_text(open_page):
    at = open_page(PAGE, {"data": "dietox", "x": "Evit"})
    assert not at.exception
    data = load_bundled("dietox")
    fit = fit_lmm(data, SPEC)
    p = float(fit.beta_p[1])
    assert 0.1 < p < 1 and pval(p) == "0.513"  # R: format.pval(0.51313, digits = 3)
    assert fit.beta_p[0] < 2.2e-16

    fixef = labelled(frame_with(at, "Pr(>|t|)"))
    assert fixef.loc["Evit", "Pr(>|t|)"] == "0.513"
    assert fixef.loc["(Intercept)", "Pr(>|t|)"] == "< 2e-16"

    said = " ".join(plain(m.value) for m in at.markdown if "Not clearly different" in m.value)
    assert f"Not clearly different from 0 at the 5% level: Evit ({p_text(p)})" in said
    assert p_text(p) == "p = 0.513"

    sel = SimpleNamespace(source="bundled:dietox", frame=data, title="dietox")
    report = report_view.report_html(sel, fit, None).decode("utf-8")
    assert "<td>0.513</td>" in report and "<td>&lt; 2e-16</td>" in report
    assert "Evit (p = 0.513)" in report
