"""Roles never change silently, the tutorial's presets say what they change and keep, the
nesting advice fits the coding it is about, and the Sandbox names the model it fits."""

from __future__ import annotations

from pathlib import Path

from conftest import plain

from lib.present.explain_levels import FEW_ROWS_PER_GROUP
from ui.state import UploadedTable

MODEL = "pages/3_Model.py"
DATA = "pages/1_Data.py"
EXAM = Path(__file__).parents[1] / "reference" / "data" / "classroom_exam.csv"


def _sidebar_notes(at) -> str:
    return " ".join(plain(i.value) for i in at.sidebar.info if "Roles changed" in i.value)


def _role(at, key: str) -> str | None:
    return at.sidebar.selectbox(key=key).value


def test_taking_the_predictor_as_outcome_moves_the_predictor_and_says_why(open_page):
    at = open_page(MODEL, {"data": "pupils"})
    assert _sidebar_notes(at) == ""
    at.sidebar.selectbox(key="y").set_value("hours").run()
    assert not at.exception
    assert _role(at, "y") == "hours" and _role(at, "x") not in ("hours", None)
    notes = _sidebar_notes(at)
    assert f"'hours' is now the outcome; the predictor is now '{_role(at, 'x')}'" in notes
    # A later change that moves nothing else clears the note.
    at.sidebar.selectbox(key="group").set_value("class_id").run()
    assert _role(at, "group") == "class_id" and _sidebar_notes(at) == ""


def test_making_a_lower_level_the_group_drops_it_as_a_level_and_says_so(open_page):
    at = open_page(MODEL, {"data": "pupils"})
    assert _role(at, "group2") == "class"
    at.sidebar.selectbox(key="group").set_value("class").run()
    assert not at.exception
    assert _role(at, "group2") == ""
    assert "'class' is now the group, so it is no longer a grouping level" in _sidebar_notes(at)
    assert at.sidebar.code[0].value == "score ~ 1 + hours + (1 | class)"


def test_presets_say_what_they_set_and_keep_the_lower_levels(open_page):
    at = open_page(MODEL, {"data": "pupils"})
    at.button(key="_preset_Random slope").click().run()
    assert not at.exception
    # The top level gets the step's terms; the class level keeps its intercept.
    assert at.sidebar.code[0].value == "score ~ 1 + (0 + hours | school) + (1 | class:school)"
    captions = " ".join(plain(c.value) for c in at.caption)
    assert (
        "Random slope: sets the top level 'school' to (0 + hours | school) (no fixed slope); "
        "keeps (1 | class:school) as chosen." in captions
    )
    help_text = next(b for b in at.button if b.key == "_preset_Null model").help
    assert "sets the top level 'school' to (1 | school)" in plain(help_text)


def test_presets_without_a_predictor_are_not_offered_and_say_why(open_page):
    at = open_page(MODEL, {"data": "penicillin"})
    assert not at.exception
    keys = [b.key for b in at.button if str(b.key).startswith("_preset_")]
    assert keys == ["_preset_Null model"]
    captions = " ".join(plain(c.value) for c in at.caption)
    assert (
        "Random slope: not offered; it needs a numeric predictor for its random slope, and "
        "none is chosen." in captions
    )


def _exam(open_page, query: dict[str, str]):
    at = open_page(DATA)
    at.session_state["_upload"] = UploadedTable.from_bytes("exam.csv", EXAM.read_bytes())
    at.run()
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    for key, value in query.items():
        widget = at.sidebar.radio(key=key) if "relation" in key else at.sidebar.selectbox(key=key)
        widget.set_value(value).run()
    assert not at.exception
    return at


def test_swapped_levels_are_not_called_the_only_grouping_column(open_page):
    """Student at the top with school crossed below it: the advice names that coding (not
    "the only grouping column"), offers school/student, and says that the nested student
    level has about one row per group."""
    at = _exam(
        open_page,
        {"y": "normexam", "x": "standLRT", "group": "student", "group2": "school"},
    )
    at.sidebar.radio(key="group2_relation").set_value("crossed").run()
    warning = " ".join(plain(w.value) for w in at.warning if "repeat across" in w.value)
    assert "student is the top grouping column, with school coded as crossed below it" in warning
    assert "only grouping column" not in warning
    assert "(1 | school/student)`, with 4,055 groups" in warning
    assert 4059 / 4055 < FEW_ROWS_PER_GROUP
    assert "hold 1.00 rows each on average" in warning
    assert "hardly be told apart from the residual" in warning


def test_the_only_grouping_column_keeps_its_words(open_page):
    at = open_page(DATA, {"data": "pupils", "group": "class", "group2": ""})
    warning = " ".join(plain(w.value) for w in at.warning if "repeat across" in w.value)
    assert "class is the only grouping column" in warning
    assert "rows each on average" not in warning  # 10 pupils per class and school


def test_sandbox_subtitle_follows_the_slope_setting(open_page):
    at = open_page("pages/7_Sandbox.py", {"present": "1"})
    assert any("against `y ~ x + (1 | g)`" in m.value for m in at.markdown)
    at.slider(key="sim_slope_sd").set_value(0.3).run()
    assert not at.exception
    subtitle = [m.value for m in at.markdown if "simulated data sets:" in m.value]
    assert subtitle and "against `y ~ x + (1 + x | g)`" in subtitle[0]


def test_several_random_slopes_per_level_live_in_the_url(open_page):
    at = open_page(MODEL, {"data": "pupils", "random_slope": "true"})
    # An old link with the single-slope toggle: the predictor's slope, as before.
    assert at.sidebar.code[0].value == (
        "score ~ 1 + hours + (1 + hours | school) + (1 | class:school)"
    )
    assert at.sidebar.multiselect(key="slopes").value == ["hours"]
    at.sidebar.multiselect(key="slopes").set_value(["hours", "ses"]).run()
    assert not at.exception
    formula = "score ~ 1 + hours + (1 + hours + ses | school) + (1 | class:school)"
    assert at.sidebar.code[0].value == formula
    assert at.query_params["slopes"] == ["hours", "ses"]
    # The link restores it, with a slope of ses alone at the class level.
    query = {"data": "pupils", "random_slope": "true", "slopes": ["hours", "ses"]}
    again = open_page(MODEL, {**query, "random_slope2": "true", "slopes2": "ses"})
    assert not again.exception
    assert again.sidebar.code[0].value == (
        "score ~ 1 + hours + (1 + hours + ses | school) + (1 + ses | class:school)"
    )
    # A preset gives the predictor's slope alone again.
    again.button(key="_preset_Random intercept and slope").click().run()
    assert again.sidebar.code[0].value.startswith("score ~ 1 + hours + (1 + hours | school)")
