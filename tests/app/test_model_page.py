"""Model page: the numbers shown equal lib's fit; toggles change the formula."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pytest
from conftest import frame_with, labelled, plain, whole_table

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled

PAGE = "pages/3_Model.py"
RI = ModelSpec.one_factor("test_score", "school", fixed=("study_time",))


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _formulas(at) -> list[str]:
    return [c.value for c in at.code]


def test_random_intercept_model_matches_lib(open_page):
    at = open_page(PAGE)
    assert not at.exception
    fit = fit_lmm(load_bundled("schools"), RI)
    assert _metric(at, "REML criterion") == "984.8"  # the tutorial's value
    assert _metric(at, "REML criterion") == f"{fit.criterion:,.1f}"
    assert _metric(at, "Observations") == "183"
    assert _metric(at, "Groups") == "3"
    assert "test_score ~ 1 + study_time + (1 | school)" in _formulas(at)
    fixef = labelled(frame_with(at, "Estimate"))
    assert fixef.loc["study_time", "Estimate"] == f"{fit.beta[1]:,.4f}"
    assert fixef.loc["(Intercept)", "Std. Error"] == f"{fit.beta_se[0]:,.4f}"
    assert fixef.loc["study_time", "df"] == f"{fit.beta_df[1]:,.2f}"
    varcorr = frame_with(at, "Std.Dev.")
    assert varcorr["Groups"].tolist() == ["school", "Residual"]
    assert varcorr["Variance"].tolist() == [
        f"{v:,.4f}" for v in (*fit.varcorr.terms[0].variances, fit.varcorr.residual_variance)
    ]
    ranef = frame_with(at, "estimate")
    assert ranef["school"].tolist() == list(fit.ranef[0].levels)
    icc = labelled(frame_with(at, "Value"))
    assert icc.loc["Adjusted ICC", "Value"] == f"{fit.icc.adjusted:.3f}"
    assert any("No rows were dropped" in c.value for c in at.caption)
    assert any("What this means" in m.value for m in at.markdown)


def test_random_slope_toggle_changes_formula_and_numbers(open_page):
    at = open_page(PAGE)
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    assert not at.exception
    assert "test_score ~ 1 + study_time + (1 + study_time | school)" in _formulas(at)
    full = fit_lmm(load_bundled("schools"), RI.with_term(slopes=("study_time",)))
    assert _metric(at, "REML criterion") == f"{full.criterion:,.1f}" == "916.8"
    assert "Corr" in frame_with(at, "Std.Dev.").columns
    at.sidebar.toggle(key="correlated").set_value(False).run()
    assert not at.exception
    assert "test_score ~ 1 + study_time + (1 | school) + (0 + study_time | school)" in _formulas(at)
    assert frame_with(at, "Std.Dev.")["Groups"].tolist() == ["school", "school.1", "Residual"]


def test_tutorial_presets(open_page):
    at = open_page(PAGE)
    expected = {
        "Null model": "test_score ~ 1 + (1 | school)",
        "Random slope": "test_score ~ 1 + (0 + study_time | school)",
        "Random intercept and slope": "test_score ~ 1 + study_time + (1 + study_time | school)",
        "Random intercept": "test_score ~ 1 + study_time + (1 | school)",
    }
    for name, formula in expected.items():
        at.button(key=f"_preset_{name}").click().run()
        assert not at.exception, name
        assert formula in _formulas(at), name
    at.button(key="_preset_Null model").click().run()
    assert whole_table(at, "null_model_estimate").shape == (3, 4)
    assert at.query_params.get("fixed_slope") == "false"  # choices live in the URL


def test_url_restores_the_model(open_page):
    at = open_page(PAGE, {"random_slope": "true", "method": "ML"})
    assert not at.exception
    assert at.sidebar.toggle(key="random_slope").value is True
    assert at.sidebar.radio(key="method").value == "ML"
    assert "test_score ~ 1 + study_time + (1 + study_time | school)" in _formulas(at)
    ml = fit_lmm(
        load_bundled("schools"), RI.with_term(slopes=("study_time",)).with_changes(reml=False)
    )
    assert not ml.reml and ml.criterion_name == "deviance"
    assert _metric(at, "deviance") == f"{ml.criterion:,.1f}"
    assert _metric(at, "AIC (ML)") == f"{ml.aic:,.1f}"
    assert _metric(at, "BIC (ML)") == f"{ml.bic:,.1f}"
    assert _metric(at, "logLik (ML)") == f"{ml.loglik:,.1f}"
    fixef = labelled(frame_with(at, "Estimate"))
    assert fixef.loc["study_time", "Estimate"] == f"{ml.beta[1]:,.4f}"
    assert fixef.loc["(Intercept)", "Std. Error"] == f"{ml.beta_se[0]:,.4f}"
    reml = fit_lmm(load_bundled("schools"), RI.with_term(slopes=("study_time",)))
    assert f"{reml.criterion:,.1f}" != f"{ml.criterion:,.1f}"  # the method was restored too
    assert any("maximum likelihood" in s.value for s in at.subheader)


def test_no_random_effect_is_an_error_not_an_exception(open_page):
    at = open_page(PAGE, {"random_intercept": "false"})
    assert not at.exception
    assert any("neither an intercept nor a slope" in plain(e.value) for e in at.error)


def test_singular_fit_is_explained(open_page):
    # dietox's null model: the pigs' mean weights differ no more than noise allows.
    at = open_page(PAGE, {"data": "dietox", "fixed_slope": "false"})
    assert not at.exception
    assert any("singular" in w.value for w in at.warning)


def test_singular_fit_offers_simpler_model(open_page):
    """grunfeld, invest ~ 1 + (1 + value | firm): singular in lme4 too (isSingular TRUE,
    the intercept-slope correlation -1.000), so the page offers the uncorrelated model."""
    at = open_page(PAGE, {"data": "grunfeld", "fixed_slope": "false", "random_slope": "true"})
    assert not at.exception
    assert "invest ~ 1 + (1 + value | firm)" in _formulas(at)
    spec = ModelSpec.one_factor("invest", "firm", random_slopes=("value",))
    fit = fit_lmm(load_bundled("grunfeld"), spec)
    assert fit.singular
    assert fit.varcorr.terms[0].correlation[1, 0] < -0.999
    assert any("perfectly correlated" in w.value for w in at.warning)
    offer = at.button(key="_simplify")
    assert offer.label == "Remove the correlation"
    offer.click().run()
    assert not at.exception
    assert at.sidebar.toggle(key="correlated").value is False
    assert "invest ~ 1 + (1 | firm) + (0 + value | firm)" in _formulas(at)


def test_dropped_rows_are_reported(open_page):
    at = open_page(PAGE, {"data": "dietox", "x": "Feed"})
    assert not at.exception
    assert any("72 rows were dropped" in i.value for i in at.info)


EVIL = "[click](javascript:alert(1)) <img src=x onerror=alert(1)>"


def _markdown_texts(at) -> list[str]:
    """Every Markdown text on the page, without its display-math blocks (``$$ ... $$``:
    KaTeX, not Markdown; user text there is LaTeX-escaped, tests/app/test_equations_page.py)."""
    kinds = ("markdown", "caption", "subheader", "header", "title", "warning", "info", "error")
    texts = [e.value for kind in kinds for e in getattr(at, kind)]
    return [re.sub(r"\$\$\n.*?\n\$\$", "$$ $$", text, flags=re.S) for text in texts]


def test_user_text_is_never_rendered_as_markup(open_page):
    from ui.state import UploadedTable

    rows = ["g,x,y," + '"' + EVIL + '"']
    for i in range(12):
        label = EVIL if i % 3 == 0 else f"**bold{i % 3}**"
        rows.append(f'"{label}",{i},{2 * i + i % 3},{i % 5}')
    at = open_page(PAGE)
    at.session_state["_upload"] = UploadedTable.from_bytes("x.csv", "\n".join(rows).encode())
    at.run()
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    at.sidebar.selectbox(key="y").set_value(EVIL).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="group").value == "g"
    texts = _markdown_texts(at)
    assert any("click" in t for t in texts)  # the name is shown...
    for text in texts:  # ...but only escaped: no live link, image or bold from user text
        assert "](" not in text.replace("\\](", "").replace("\\]\\(", "")
        assert "<img" not in text.replace("\\<img", "")
        assert "**bold" not in text


def test_shared_link_survives_page_switches(open_page):
    at = open_page(None, {"data": "dietox", "random_slope": "true"})
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "Weight ~ 1 + Time + (1 + Time | Pig)" in _formulas(at)
    at.sidebar.toggle(key="random_intercept").set_value(False).run()
    at.switch_page("pages/2_Explore.py").run()
    assert not at.exception
    assert at.sidebar.toggle(key="random_intercept").value is False
    assert at.query_params == {
        "data": "dietox",
        "random_slope": "true",
        "random_intercept": "false",
    }


def test_preset_buttons_have_short_distinct_labels(open_page):
    at = open_page(PAGE)
    labels = [b.label for b in at.button if str(b.key).startswith("_preset_")]
    assert labels == ["Null model", "Random intercept", "Random slope", "Intercept + slope"]


def test_metrics_criterion_first_and_labelled_with_their_likelihood(open_page):
    at = open_page(PAGE)
    labels = [m.label for m in at.metric]
    assert labels == [
        "REML criterion",
        "AIC (REML)",
        "BIC (REML)",
        "logLik (REML)",
        "Observations",
        "Groups",
    ]
    assert [m.value for m in at.metric][:3] == ["984.8", "992.8", "1,005.7"]


def test_formula_explanation_follows_the_spec(open_page):
    at = open_page(PAGE)
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    text = " ".join(m.value for m in at.markdown if "You predict" in m.value)
    assert "`(1 + study_time | school)`" in text
    assert "`(1 | school)`" not in text
    at.sidebar.toggle(key="correlated").set_value(False).run()
    text = " ".join(m.value for m in at.markdown if "You predict" in m.value)
    assert "`(1 | school)`" in text and "`(0 + study_time | school)`" in text
    assert "independently" in text


def test_icc_note_for_a_random_slope_without_its_fixed_effect(open_page):
    at = open_page(PAGE)
    assert not any("performance::icc" in i.value for i in at.info)
    at.button(key="_preset_Random slope").click().run()
    assert not at.exception
    notes = [i.value for i in at.info if "performance::icc" in i.value]
    assert notes and "ignores random slopes whose variable is not a fixed effect" in notes[0]
    assert "the ICC shown is R's value" in notes[0].replace("The ICC", "the ICC")


def _chart_tables(element) -> list[pa.Table]:
    """The Arrow datasets a drawn Vega-Lite chart carries."""
    return [pa.ipc.open_stream(d.data.data).read_all() for d in element.proto.datasets]


def _overall_slope(element) -> float:
    """Slope of the chart's black overall (fixed-effects) line, from its two end points."""
    line = next(t for t in _chart_tables(element) if "line" in t.column_names).to_pandas()
    return float((line["y"].iloc[1] - line["y"].iloc[0]) / (line["x"].iloc[1] - line["x"].iloc[0]))


def _model_charts(at) -> list:
    """The page's charts without the diagnostics section's (tested on their own)."""
    return [
        c
        for c in at.get("vega_lite_chart")
        if json.loads(c.proto.spec).get("usermeta", {}).get("role") != "diagnostics"
    ]


def test_charts_carry_the_data_and_follow_the_fit(open_page):
    at = open_page(PAGE)
    charts = _model_charts(at)
    assert len(charts) == 2  # scatter with lines, one caterpillar per random term
    assert json.loads(charts[0].proto.spec)["title"]["text"] == "Fitted line of each group"
    # students, 3 group lines and the overall line (two end points each)
    assert sorted(t.num_rows for t in _chart_tables(charts[0])) == [2, 6, 183]
    fit = fit_lmm(load_bundled("schools"), RI)
    assert _overall_slope(charts[0]) == pytest.approx(fit.beta[1], rel=1e-9)
    # The random slope adds a second caterpillar, and the chart specs are cached: the
    # first model's lines must not be reused for the new fit.
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    charts = _model_charts(at)
    assert len(charts) == 3
    full = fit_lmm(load_bundled("schools"), RI.with_term(slopes=("study_time",)))
    assert _overall_slope(charts[0]) == pytest.approx(full.beta[1], rel=1e-9)
    assert full.beta[1] != pytest.approx(fit.beta[1], rel=1e-3)


def test_fit_details_list_the_optimizer_stages_that_ran(open_page):
    at = open_page(PAGE)
    assert not at.exception
    fit = fit_lmm(load_bundled("schools"), RI)
    details = next(t.value for t in at.text if t.value.startswith("optimizer stages:"))
    assert fit.optimizer.stages, "the record names at least one stage"
    for k, stage in enumerate(fit.optimizer.stages, 1):
        assert f"  {k}. {stage}" in details
    assert f"evaluations: {fit.optimizer.n_evaluations}" in details
