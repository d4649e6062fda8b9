"""A link's outcome family (``family=``, ``link=``, ``trials=``, ``offset=``, ``success=``)
checked against the data, once per session (issue 16).

A value the data or the family cannot take is ignored with a note, as the sidebar does
for a link's other values (``ui.state.ignored_reasons``), and the sidebar shows what the
data allows instead: ``/Model?family=binomial`` on the tutorial's measured test score
shows a Gaussian model and says why, rather than an error on the Model page and a
Compare page that describes binomial models before failing. The family is read in one
place (``ui.family_widgets.draw``, which calls ``check_link`` before drawing), so every
page gets the same answer. What fits is decided by the fit's own checks
(``lib.glmm.response.check_outcome``), so the note says what a fit would have said.

A family the user picks in the sidebar is not checked here: the Model page's message
then says what is wrong with it (a non-integer "count", say), which is the lesson.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from lib.errors import ExplorerError
from lib.glmm.response import check_outcome
from lib.model.response import LINKS, ResponseFamily
from lib.table.columns import is_numeric_column
from lib.table.outcome_kind import BINARY, OutcomeKind
from ui import state

CHECKED = "_family_link_checked"  # session only: the link's family values were checked
FAMILIES = tuple(LINKS)


def check_link(frame: pd.DataFrame, kind: OutcomeKind | None, outcome: str) -> None:
    """On the session's first sidebar with its data (not while a link waits for its
    upload): replace the link's family values the data cannot take, with a note each."""
    ss = st.session_state
    if ss.get(CHECKED) or ss.get(state.PENDING_LINK):
        return
    ss[CHECKED] = True
    asked = {k: v for k, v in (ss.get(state.URL_ASKED) or {}).items() if k in state.FAMILY_KEYS}
    if not asked or kind is None:
        return
    if state.FAMILY not in asked:  # trials= etc. without family=: the family shown now
        asked[state.FAMILY] = ss.get(state.FAMILY) or "gaussian"
    values, notes = repaired(asked, frame, kind, outcome)
    for key in state.FAMILY_KEYS:
        if values.get(key) is None:
            ss.pop(key, None)
        else:
            ss[key] = values[key]
    ss[state.URL_IGNORED] = [*(ss.get(state.URL_IGNORED) or []), *notes]


def repaired(
    asked: dict[str, object], frame: pd.DataFrame, kind: OutcomeKind, outcome: str
) -> tuple[dict[str, str | None], list[str]]:
    """The family values to use for the ones a link ``asked`` for, and a plain-text note
    (``key='value': why``) for each one left out. Pure apart from reading ``frame``."""
    notes: list[str] = []
    got = {k: (str(v) if v not in (None, "") else None) for k, v in asked.items()}
    family = got.get(state.FAMILY) or "gaussian"
    fallback = "gaussian" if kind.numeric else "binomial"
    if family not in FAMILIES:
        notes.append(_note(state.FAMILY, family, "the family is gaussian, binomial or poisson"))
        family = fallback
    elif not kind.numeric and family != "binomial":
        values = " and ".join(kind.levels) if kind.kind == BINARY else "text"
        notes.append(
            _note(state.FAMILY, family, f"{outcome} holds {values}, which only a binomial "
                  "model fits")
        )  # fmt: skip
        family = "binomial"
    link = _checked_link(got.get(state.LINK), family, notes)
    trials = _checked_column(state.TRIALS, got.get(state.TRIALS), family, frame, kind, notes)
    offset = _checked_column(state.OFFSET, got.get(state.OFFSET), family, frame, kind, notes)
    success = _checked_success(got.get(state.SUCCESS), family, kind, outcome, notes)
    # The fit's own checks, with the data: blame the offset or trials column when the
    # model fits without it, else the family.
    values = {"link": link, "trials": trials, "offset": offset, "success": success}
    problem = _problem(frame, outcome, family, values)
    for key in (state.OFFSET, state.TRIALS):
        if problem and values[key] is not None:
            without = {**values, key: None}
            if _problem(frame, outcome, family, without) is None:
                notes.append(_note(key, str(values[key]), problem))
                values, problem = without, None
    if problem:
        notes.append(_note(state.FAMILY, family, problem))
        family = fallback
        values = dict.fromkeys(values)
    return {state.FAMILY: family, **values}, notes


def _note(key: str, value: str, reason: str) -> str:
    return f"{key}={state.quoted(value)}: {reason}"


def _checked_link(link: str | None, family: str, notes: list[str]) -> str | None:
    if link is None or link in LINKS[family]:
        return None if link == LINKS[family][0] else link
    takes = " or ".join(LINKS[family])
    notes.append(_note(state.LINK, link, f"the {family} family takes the link {takes}"))
    return None


def _checked_column(
    key: str,
    column: str | None,
    family: str,
    frame: pd.DataFrame,
    kind: OutcomeKind,
    notes: list[str],
) -> str | None:
    """A trials or offset column: one the family takes, in the data and numeric."""
    if column is None:
        return None
    reason = None
    if key == state.TRIALS and family != "binomial":
        reason = "only a binomial model takes a trials column"
    elif key == state.OFFSET and family == "gaussian":
        reason = "an offset column is for binomial and Poisson models"
    elif column not in frame.columns:
        reason = "there is no column of that name"
    elif column == kind.column:
        reason = "that column is the outcome"
    elif not is_numeric_column(frame[column]):
        reason = "that column is not numeric"
    elif key == state.TRIALS and kind.kind == BINARY:
        reason = f"{kind.column} is two-valued, not a count of successes out of trials"
    if reason is None:
        return column
    notes.append(_note(key, column, reason))
    return None


def _checked_success(
    success: str | None, family: str, kind: OutcomeKind, outcome: str, notes: list[str]
) -> str | None:
    """The level counted as 1: one of a two-valued text or boolean outcome's values."""
    if success is None:
        return None
    reason = None
    if family != "binomial":
        reason = "only a binomial model has a level counted as success"
    elif not kind.needs_success:
        reason = (
            f"{outcome} is 0/1, so 1 counts as success"
            if kind.zero_one
            else f"{outcome} does not have two values"
        )
    elif success not in kind.levels:
        reason = f"the values of {outcome} are " + " and ".join(kind.levels)
    if reason is None:
        return None if success == kind.default_success else success
    notes.append(_note(state.SUCCESS, success, reason))
    return None


def _problem(
    frame: pd.DataFrame, outcome: str, family: str, values: dict[str, str | None]
) -> str | None:
    """Why a fit of ``outcome`` with this family would fail on the data (None: it would not
    fail for the outcome's sake)."""
    try:
        response = ResponseFamily(family=family, **values)
        check_outcome(frame, outcome, response)
    except ExplorerError as exc:
        return _first_sentence(str(exc))
    return None


def _first_sentence(text: str) -> str:
    """The fit's message up to its advice, which is for a family the user chose."""
    return re.split(r"(?<=\.) (?=[A-Z])", text, maxsplit=1)[0]
