"""A link's family values checked against the data (issue 16): a family, link, trials,
offset or success level the outcome cannot take is ignored with a note on every page,
and the sidebar shows what the data allows (``ui.family_link``)."""

from __future__ import annotations

from conftest import plain

MODEL, COMPARE, EXPLORE = "pages/3_Model.py", "pages/4_Compare.py", "pages/2_Explore.py"
BINOMIAL_OF_A_SCORE = (
    "family='binomial': The outcome 'test_score' of a binomial model must be 0/1 (or two "
    "values such as pass/fail), or successes with a trials column; it holds 23.9945"
)


def _notes(at) -> str:
    return " ".join(plain(w.value) for w in at.warning)


def test_a_binomial_link_on_a_measured_outcome_shows_the_linear_model_with_a_note(open_page):
    at = open_page(MODEL, {"family": "binomial"})
    assert not at.exception
    assert not at.error
    assert at.sidebar.radio(key="family").value == "gaussian"
    assert BINOMIAL_OF_A_SCORE in _notes(at)
    assert "family" not in at.query_params  # the link is rewritten with what is shown
    assert any("lmer(test_score ~" in c.value for c in at.code)  # the linear model is fitted


def test_the_compare_page_shows_the_linear_strategies_instead_of_binomial_ones(open_page):
    at = open_page(COMPARE, {"family": "binomial"})
    assert not at.exception
    assert not at.error
    assert BINOMIAL_OF_A_SCORE in _notes(at)
    assert [t.label for t in at.tabs][:1] == ["1 Simple regression"]
    assert not any("binomial mixed model" in plain(m.value) for m in at.markdown)


def test_a_poisson_link_on_a_measured_outcome_is_noted_on_the_explore_page(open_page):
    at = open_page(EXPLORE, {"family": "poisson"})
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "gaussian"
    assert (
        "family='poisson': The outcome 'test_score' of a Poisson model must be counts 0, 1, "
        "2, ..., but it holds values that are not whole numbers (for example"
    ) in _notes(at)


def test_a_link_trials_offset_and_success_that_do_not_fit_a_two_valued_outcome(open_page):
    query = {
        "data": "contraception",
        "link": "log",
        "trials": "age",
        "offset": "nowhere",
        "success": "maybe",
    }
    at = open_page(MODEL, query)
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "binomial"  # the data's family stays
    notes = _notes(at)
    assert "link='log': the binomial family takes the link logit or probit or cloglog" in notes
    assert "trials='age': use is two-valued, not a count of successes out of trials" in notes
    assert "offset='nowhere': there is no column of that name" in notes
    assert "success='maybe': the values of use are N and Y" in notes
    assert at.sidebar.selectbox(key="link").value == "logit"
    assert at.sidebar.selectbox(key="success").value == "Y"
    assert at.sidebar.selectbox(key="offset").value == ""
    for key in ("link", "trials", "offset", "success"):
        assert key not in at.query_params
    assert [m.label for m in at.metric][:1]  # the binomial model is fitted


def test_a_gaussian_or_poisson_link_on_a_text_outcome_keeps_the_binomial_family(open_page):
    at = open_page(MODEL, {"data": "contraception", "family": "poisson", "link": "log"})
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "binomial"
    notes = _notes(at)
    assert "family='poisson': use holds N and Y, which only a binomial model fits" in notes
    # log is the Poisson link the link asked for, not one of the binomial family's.
    assert "link='log': the binomial family takes the link logit or probit or cloglog" in notes


def test_values_that_fit_are_kept_without_a_note(open_page):
    query = {"data": "contraception", "link": "probit", "success": "N"}
    at = open_page(MODEL, query)
    assert not at.exception
    assert not [w for w in at.warning if "do not apply" in w.value]
    assert at.sidebar.selectbox(key="link").value == "probit"
    assert at.sidebar.selectbox(key="success").value == "N"
    assert at.query_params["link"] == "probit" and at.query_params["success"] == "N"
