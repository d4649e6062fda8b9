"""One comparison rule on every page: Compare, Ladder, Lesson (step 9) and the report show
the same numbers for the same pair of models, and no page prints a p-value for a pair of
models that are not nested (lib.classroom.comparison)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from conftest import frame_with, labelled, plain

from lib.classroom.comparison import compare_specs
from lib.classroom.ladder import FULL, NULL, RI, RS, ladder_specs
from lib.lmm import anova, fit_lmm
from lib.present.numbers import pval
from lib.table.catalogue import load_bundled
from ui.views import report as report_view

PAGES = {
    "Compare": ("pages/4_Compare.py", {}),
    "Ladder": ("pages/6_Ladder.py", {}),
    "Lesson": ("pages/8_Lesson.py", {"step": "9"}),
}
ROWS = {NULL: "1 Null model", RI: "2 Random intercept", RS: "3 Random slope"}
ROWS[FULL] = "4 Intercept + slope"
Y, X, G = "test_score", "study_time", "school"


@pytest.fixture(scope="module")
def result():
    return compare_specs(load_bundled("schools"), ladder_specs(Y, X, G))


@pytest.fixture(scope="module")
def shown():
    """The criteria and tests tables and the text of each page (one session each)."""
    from conftest import open_app

    out = {}
    for name, (page, query) in PAGES.items():
        at = open_app(page, query)
        assert not at.exception, name
        assert not [e.value for e in at.error], name
        out[name] = SimpleNamespace(
            criteria=labelled(frame_with(at, "AIC (ML)")),
            tests=labelled(frame_with(at, "Pr(>Chisq)")),
            text=" ".join(plain(m.value) for m in at.markdown),
            cells=" ".join(
                " ".join(map(str, d.value.to_numpy().ravel())) for d in at.dataframe
            ),
        )
    return out


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_shows_the_same_criteria_and_tests(shown, result, name):
    page = shown[name]
    for label, row in ROWS.items():
        model = result.model(label)
        assert page.criteria.loc[row, "AIC (ML)"] == f"{model.aic:,.1f}", (name, label)
        assert page.criteria.loc[row, "BIC (ML)"] == f"{model.bic:,.1f}", (name, label)
        assert page.criteria.loc[row, "npar"] == str(model.npar)
    # The pair random intercept / random intercept and slope: the same test everywhere.
    full = result.model(FULL)
    assert page.tests.loc["4 vs 2", "Chisq"] == f"{full.chisq:.2f}" == "64.80"
    assert page.tests.loc["4 vs 2", "Pr(>Chisq)"] == pval(full.p) == "8.49e-15"
    assert "χ² = 64.80 on 2 df, p = 8.49e-15" in page.text
    for other in PAGES:
        assert shown[other].criteria.loc[list(ROWS.values())].equals(
            page.criteria.loc[list(ROWS.values())]
        )
        assert shown[other].tests.equals(page.tests)


@pytest.mark.parametrize("name", list(PAGES))
def test_no_p_value_for_a_pair_that_is_not_nested(shown, name):
    """R's anova() tests the random intercept against the random slope (p = 5.96e-10) and
    the random slope against the null model on 0 df; neither is a test, so neither p-value
    appears anywhere on a page, and the table marks both pairs."""
    data = load_bundled("schools")
    specs = ladder_specs(Y, X, G)
    rows = anova(data, [specs[NULL], specs[RS], specs[RI]]).rows  # lme4's order and tests
    assert rows[1].df == 0  # R's "test" of two models of equal size
    assert pval(rows[2].p) == "5.96e-10"
    page = shown[name]
    assert "5.96e-10" not in page.text and "5.96e-10" not in page.cells, name
    assert "on 0 df, p" not in page.text
    assert page.tests.loc["2 vs 3", "Pr(>Chisq)"] == "not nested"
    assert page.tests.loc["3 vs 1", "Pr(>Chisq)"] == "same npar"
    assert page.tests.loc["2 vs 3", "Chisq"] == page.tests.loc["3 vs 1", "Df"] == ""
    sentence = next(s for s in re.split(r"(?<=\.)\s+-?\s*", page.text) if "gets no test" in s)
    assert "Random slope" in sentence and "p =" not in sentence and "p <" not in sentence


def test_the_report_quotes_the_same_ml_criteria(shown, result):
    """The Model page's report of the random-intercept and the full model: the (ML) rows are
    the comparison's numbers; a REML fit's own AIC is labelled (REML)."""
    data = load_bundled("schools")
    sel = SimpleNamespace(source="bundled:schools", frame=data, title="Schools")
    for label in (RI, FULL):
        spec = ladder_specs(Y, X, G)[label]
        fit = fit_lmm(data, spec)
        text = report_view.report_html(sel, fit, None).decode("utf-8")
        model = result.model(label)
        for criterion, value in (("AIC (ML)", model.aic), ("BIC (ML)", model.bic)):
            cell = re.search(rf"<td>{re.escape(criterion)}</td><td>([^<]+)</td>", text)
            assert cell is not None, (label, criterion)
            reported = float(cell.group(1).replace(",", ""))
            assert reported == pytest.approx(value, abs=5e-5)
            assert f"{reported:,.1f}" == shown["Compare"].criteria.loc[ROWS[label], criterion]
        assert f"<td>AIC (REML)</td><td>{fit.aic:,.4f}</td>" in text
        assert "<td>AIC</td>" not in text
