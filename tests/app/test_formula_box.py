"""The sidebar's formula box (issue 15): toggles -> formula, formula -> toggles, extras the
toggles cannot show, a bad formula, hostile column names, centring and the URL."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from conftest import frame_with, labelled, plain

from lib.lmm import fit_lmm
from lib.model.centring import Centring, apply_centring
from lib.model.formula import parse_formula
from lib.table.catalogue import load_bundled

PAGE = "pages/3_Model.py"
BOX = "_formula_text"


def _box(at) -> str:
    return at.sidebar.text_area(key=BOX).value


def _type(at, text: str):
    at.sidebar.text_area(key=BOX).set_value(text).run()
    return at


def _param(at, key: str) -> list[str]:
    """A URL parameter's values (AppTest keeps one value as a string)."""
    value = at.query_params.get(key)
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def _fixef(at) -> pd.DataFrame:
    return labelled(frame_with(at, "Estimate"))


def test_toggles_rewrite_the_formula(open_page):
    at = open_page(PAGE)
    assert _box(at) == "test_score ~ 1 + study_time + (1 | school)"
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    assert _box(at) == "test_score ~ 1 + study_time + (1 + study_time | school)"
    at.sidebar.toggle(key="correlated").set_value(False).run()
    assert _box(at) == "test_score ~ 1 + study_time + (1 | school) + (0 + study_time | school)"
    assert not at.exception


def test_a_typed_formula_sets_the_toggles_and_the_fit(open_page):
    at = _type(open_page(PAGE), "test_score ~ study_time + (study_time || school)")
    assert not at.exception
    assert at.sidebar.toggle(key="random_slope").value is True
    assert at.sidebar.toggle(key="correlated").value is False
    assert _box(at) == "test_score ~ 1 + study_time + (1 | school) + (0 + study_time | school)"
    assert not at.sidebar.info  # the toggles show all of it: nothing extra to say
    assert _param(at, "random_slope") == ["true"]
    assert "formula" not in at.query_params  # the toggles carry it
    spec = parse_formula("test_score ~ study_time + (study_time || school)")
    fit = fit_lmm(load_bundled("schools"), spec)
    assert _fixef(at).loc["study_time", "Estimate"] == f"{fit.beta[1]:,.4f}"


def test_terms_the_toggles_cannot_show_are_fitted_and_named(open_page):
    at = open_page(PAGE, {"data": "pupils"})
    text = "score ~ hours * sex + (1 | school/class)"
    at = _type(at, text)
    assert not at.exception
    notes = " ".join(plain(i.value) for i in at.sidebar.info)
    assert "terms the toggles cannot show: hours:sex" in notes
    assert _box(at) == "score ~ 1 + hours + sex + hours:sex + (1 | school) + (1 | class:school)"
    assert at.sidebar.multiselect(key="covariates").value == ["sex"]
    assert "hours:sexM" in _fixef(at).index
    assert _param(at, "formula") == [_box(at)]
    # A toggle changes only what it shows; the interaction stays.
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    assert "hours:sex" in _box(at) and "(1 + hours | school)" in _box(at)
    # ... until the user drops it.
    at.sidebar.button(key="_formula_drop").click().run()
    assert "hours:sex" not in _box(at) and "formula" not in at.query_params
    assert "hours:sexM" not in _fixef(at).index


def test_intercept_free_formula_fits_and_the_icc_panel_says_why_it_is_empty(open_page):
    at = _type(open_page(PAGE), "test_score ~ 0 + study_time + (1 | school)")
    assert not at.exception
    assert "(Intercept)" not in _fixef(at).index
    text = " ".join(plain(m.value) for m in at.markdown)
    assert "ICC and R² are not shown: the model has no fixed intercept" in text


def test_a_bad_formula_says_where_and_keeps_the_model(open_page):
    at = open_page(PAGE)
    before = _fixef(at).loc["study_time", "Estimate"]
    at = _type(at, "test_score ~ study_time + (1 | school")
    assert not at.exception
    message = plain(at.sidebar.error[0].value)
    assert "Formula error at character" in message and "model is unchanged" in message
    assert _box(at) == "test_score ~ study_time + (1 | school"  # kept for correcting
    assert _fixef(at).loc["study_time", "Estimate"] == before
    at = _type(at, "test_score ~ nope + (1 | school)")
    assert "column 'nope', which is not in the data" in plain(at.sidebar.error[0].value)
    assert not at.exception


HOSTILE = ["score `x`", "<script>alert(1)</script>", "naïve ü", "group, id"]


def test_hostile_column_names_are_backticked_and_round_trip(open_page):
    from ui.state import UploadedTable

    rng = np.random.default_rng(5)
    g = np.repeat([f"g{k}" for k in range(8)], 12)
    x = rng.normal(size=g.size)
    y = 2 + 0.5 * x + np.repeat(rng.normal(size=8), 12) + rng.normal(scale=0.5, size=g.size)
    frame = pd.DataFrame({HOSTILE[0]: y, HOSTILE[1]: x, HOSTILE[2]: x**2, HOSTILE[3]: g})
    at = open_page(PAGE)
    content = frame.to_csv(index=False).encode()
    at.session_state["_upload"] = UploadedTable.from_bytes("h.csv", content)
    at.run()
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    text = (
        "`score \\`x\\`` ~ `<script>alert(1)</script>` * `naïve ü` + "
        "(1 + `<script>alert(1)</script>` | `group, id`)"
    )
    at = _type(at, text)
    assert not at.exception
    shown = _box(at)
    assert parse_formula(shown) == parse_formula(text)  # the box's text names the same model
    assert "`score \\`x\\``" in shown and "`group, id`" in shown
    assert at.sidebar.selectbox(key="y").value == HOSTILE[0]
    assert at.sidebar.toggle(key="random_slope").value is True
    assert "<script>alert(1)</script>:naïve ü" in _fixef(at).index
    # No user text reaches Markdown unescaped: the note escapes "<" and "`".
    notes = " ".join(i.value for i in at.sidebar.info)
    assert "<script>" not in notes and "\\<script\\>" in notes


def test_centring_changes_the_fitted_columns_and_the_url(open_page):
    at = open_page(PAGE, {"data": "pupils"})
    at.sidebar.selectbox(key="_centre_method0").set_value("within").run()
    at.sidebar.checkbox(key="_centre_mean0").check().run()
    assert not at.exception
    codes = [c.value for c in at.sidebar.code]
    assert "score ~ 1 + hours_cwc + hours_mean_school + (1 | school) + (1 | class:school)" in codes
    assert _param(at, "centre") == ['["hours", "within", ["school"], true]']
    pupils = load_bundled("pupils")
    spec = parse_formula("score ~ hours + (1 | school/class)")
    centred = apply_centring(pupils, spec, [Centring("hours", "within", ("school",), True)])
    fit = fit_lmm(centred.frame, centred.spec)
    shown = _fixef(at)
    for name, value in zip(fit.fixef_names, fit.beta, strict=True):
        assert shown.loc[name, "Estimate"] == f"{value:,.4f}"
    # The formula box keeps the data's own columns, which a typed formula names.
    assert _box(at) == "score ~ 1 + hours + (1 | school) + (1 | class:school)"


def test_a_link_restores_formula_and_centring_and_old_links_still_work(open_page):
    formula = "score ~ 0 + hours * sex + (1 + hours | school)"
    centre = json.dumps(["hours", "grand", [], False])
    at = open_page(PAGE, {"data": "pupils", "group2": "", "formula": formula, "centre": centre})
    assert not at.exception
    assert _box(at) == "score ~ 0 + hours + sex + hours:sex + (1 + hours | school)"
    assert at.sidebar.toggle(key="random_slope").value is True
    assert at.sidebar.selectbox(key="_centre_method0").value == "grand"
    assert "hours_gmc:sexM" in _fixef(at).index
    old = open_page(PAGE, {"random_slope": "true"})  # a link made before the formula box
    assert not old.exception
    assert _box(old) == "test_score ~ 1 + study_time + (1 + study_time | school)"


def test_a_bad_formula_in_a_link_is_noted_and_the_toggles_stand(open_page):
    at = open_page(PAGE, {"formula": "test_score ~ logit(study_time) + (1 | school)"})
    assert not at.exception
    warning = " ".join(plain(w.value) for w in at.warning)
    assert "formula: Formula error at character" in warning
    assert _box(at) == "test_score ~ 1 + study_time + (1 | school)"


def test_computed_columns_in_a_typed_formula_fit_as_the_library_does(open_page):
    text = "log(score) ~ hours + I(hours^2) + scale(ses) + (1 | school/class)"
    at = _type(open_page(PAGE, {"data": "pupils"}), text)
    assert not at.exception
    notes = " ".join(plain(i.value) for i in at.sidebar.info)
    assert "log(score) as the outcome, I(hours^2), scale(ses)" in notes
    assert at.sidebar.selectbox(key="y").value == "score"  # the column it is computed from
    fit = fit_lmm(load_bundled("pupils"), parse_formula(text))
    shown = _fixef(at)
    for name, value in zip(fit.fixef_names, fit.beta, strict=True):
        assert shown.loc[name, "Estimate"] == f"{value:,.4f}"
    at = _type(at, "score ~ log(ses) + (1 | school)")  # ses has values <= 0
    assert "log(ses) is not defined for" in plain(at.sidebar.error[0].value)
    assert "I(hours^2)" in _fixef(at).index  # the model is unchanged


def test_within_and_between_page_ignores_the_sidebar_centring(open_page):
    centre = json.dumps(["exercise", "within", ["age_group"], False])
    plain_page = open_page("pages/9_Within_and_between.py", {"data": "exercise"})
    centred = open_page("pages/9_Within_and_between.py", {"data": "exercise", "centre": centre})
    assert not centred.exception
    texts = [
        " ".join(plain(m.value) for m in at.markdown if "Between" in m.value)
        for at in (plain_page, centred)
    ]
    assert "exercise_cwc" not in texts[1]  # it centres the data's own column
    assert texts[0] == texts[1] and "Between** (11.215)" in texts[1]
