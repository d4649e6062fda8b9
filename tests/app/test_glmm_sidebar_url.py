"""The sidebar and the URL with a generalized family (issue 16): glmer's formula in the
formula block, no REML choice, and the nAGQ choice in the link."""

from __future__ import annotations

from pathlib import Path

from conftest import plain

MODEL = "pages/3_Model.py"
CONTRACEPTION = {"data": "contraception"}
CBPP = Path(__file__).resolve().parents[1] / "reference" / "data" / "glmm_cbpp.csv"


def test_formula_block_shows_glmer_formula_and_estimation_is_disabled(open_page):
    at = open_page(MODEL, CONTRACEPTION)
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "binomial"
    codes = [c.value for c in at.sidebar.code]
    assert codes == ["use ~ 1 + age + (1 | district)"]
    method = at.sidebar.radio(key="method")
    assert method.disabled
    captions = " ".join(plain(c.value) for c in at.sidebar.caption)
    assert "fitted by maximum likelihood" in captions


def test_a_gaussian_model_keeps_the_estimation_choice(open_page):
    at = open_page(MODEL, {"data": "schools"})
    assert not at.exception
    assert not at.sidebar.radio(key="method").disabled
    assert "fitted by maximum likelihood (Laplace" not in " ".join(
        plain(c.value) for c in at.sidebar.caption
    )


def test_formula_block_shows_cbind_of_successes_and_trials(open_page):
    at = open_page("pages/1_Data.py")
    at.file_uploader(key="_upload_widget").upload("cbpp.csv", CBPP.read_bytes()).run()
    at.sidebar.selectbox(key="y").set_value("incidence").run()
    at.sidebar.selectbox(key="group").set_value("herd").run()
    at.sidebar.selectbox(key="x").set_value("period").run()
    at.sidebar.radio(key="family").set_value("binomial").run()
    at.sidebar.selectbox(key="trials").set_value("size").run()
    assert not at.exception
    codes = [c.value for c in at.sidebar.code]
    assert codes == ["cbind(incidence, size - incidence) ~ 1 + period + (1 | herd)"]
    assert at.sidebar.radio(key="method").disabled


def test_nagq_goes_into_the_url_and_a_link_brings_it_back(open_page):
    at = open_page(MODEL, CONTRACEPTION)
    assert at.selectbox(key="nagq").value == 1
    assert "nagq" not in at.query_params  # the default stays out of the link
    at.selectbox(key="nagq").set_value(9).run()
    assert not at.exception
    assert at.query_params["nagq"] == "9"
    again = open_page(MODEL, {**CONTRACEPTION, "nagq": "9"})
    assert not again.exception
    assert again.selectbox(key="nagq").value == 9
    assert any("nAGQ = 9" in c.value for c in again.code)
    # Back to Laplace: the parameter leaves the link.
    again.selectbox(key="nagq").set_value(1).run()
    assert "nagq" not in again.query_params


def test_a_bad_nagq_in_a_link_is_ignored_with_a_note(open_page):
    at = open_page(MODEL, {**CONTRACEPTION, "nagq": "7"})
    assert not at.exception
    assert at.selectbox(key="nagq").value == 1
    notes = " ".join(plain(w.value) for w in at.warning)
    assert "nagq='7': nAGQ is one of 1, 9, 25, 0" in notes
    assert "nagq" not in at.query_params  # the link is rewritten with the default


def test_nagq_is_kept_with_a_note_while_glmer_allows_only_laplace(open_page):
    at = open_page(MODEL, {**CONTRACEPTION, "nagq": "25"})
    assert at.selectbox(key="nagq").value == 25
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "nagq"]
    assert at.query_params["nagq"] == "25"  # kept: the link still says what was chosen
    captions = " ".join(plain(c.value) for c in at.caption)
    assert "Fitted by Laplace: the likelihood approximation you chose (nAGQ = 25)" in captions
    assert "It is kept, and applies again when the model has one." in captions
    code = " ".join(c.value for c in at.code)
    assert "use ~ 1 + age + (1 + age | district)" in code and "nAGQ" not in code
    # A random slope alone is one scalar random effect: glmer allows nAGQ > 1 again.
    at.sidebar.toggle(key="random_intercept").set_value(False).run()
    assert not at.exception
    assert at.selectbox(key="nagq").value == 25
    assert any("(0 + age | district)" in c.value and "nAGQ = 25" in c.value for c in at.code)
