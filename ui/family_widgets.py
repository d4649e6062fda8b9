"""The sidebar's outcome family: Gaussian, binomial or Poisson, with link, trials, offset
and the level that counts as success (issue 16).

One value, ``lib.model.response.ResponseFamily``, comes out of these widgets and is kept
in session state beside the toggles' ``ModelSpec`` (``current()`` gives it to every page).
Its widget keys are URL parameters (``ui.state.FAMILY_KEYS``): a link without them, as
every link made before generalized models was, means a Gaussian model.

What is suggested (``lib.table.outcome_kind``): a two-valued outcome gets the binomial
family when the user picks that outcome (or a data set whose outcome it is), and says so;
a TRUE/FALSE or text outcome can only be binomial; a count outcome gets a suggestion to
fit a Poisson model, which the user applies. A session's first outcome keeps the family
its link asked for, so a shared link shows what it showed, unless the data cannot take it:
``ui.family_link`` then ignores that value with a note, before the widgets are drawn.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.errors import ExplorerError
from lib.model.response import GAUSSIAN, LINKS, ResponseFamily
from lib.present.markdown import md
from lib.table.outcome_kind import BINARY, COUNT, OutcomeKind, outcome_kind
from lib.table.roles import Roles, numeric_columns
from ui import family_link, memo, state

FAMILIES = ("gaussian", "binomial", "poisson")
FAMILY_LABELS = {"gaussian": "Gaussian", "binomial": "Binomial", "poisson": "Poisson"}
FAMILY_HELP = (
    "Gaussian: a measured outcome (lmer). Binomial: pass/fail, 0/1 or successes out of "
    "trials (glmer, logistic). Poisson: counts such as visits or errors (glmer, log link)."
)
NONE = ""  # no trials / offset column
RESPONSE_FAMILY = "_response_family"  # this run's ResponseFamily (session only)
SEEN_OUTCOME = "_family_outcome"  # (data source, outcome) the family was last set for
SUGGESTED = "_family_suggested"  # why the family was switched, shown under the choice


def current() -> ResponseFamily:
    """The family the sidebar chose on this run (Gaussian before the sidebar is drawn)."""
    value = st.session_state.get(RESPONSE_FAMILY)
    return value if isinstance(value, ResponseFamily) else GAUSSIAN


def kind_of(source: str, outcome: str, frame: pd.DataFrame) -> OutcomeKind | None:
    """``outcome_kind`` of the data ``source``'s column (None when it is not there), made
    once per (source, column) in this process: on every rerun of every page it would read
    the whole column (4 ms at 10^5 rows)."""
    if outcome not in frame.columns:
        return None
    return memo.get(("outcome_kind", source, outcome), lambda: outcome_kind(frame, outcome))


def suggestion_text(kind: OutcomeKind) -> str | None:
    """Why a family suits this outcome, in a sentence (None for a measurement)."""
    name = f"`{md(kind.column)}`"
    if kind.kind == BINARY:
        values = " and ".join(md(v) for v in kind.levels)
        return (
            f"{name} has two values ({values}): a binomial (logistic) mixed model fits it; a "
            "linear model would treat it as a measurement."
        )
    if kind.kind == COUNT:
        return (
            f"{name} holds whole numbers from 0 up, mostly small: counts, which a Poisson mixed "
            "model fits (add an offset column for unequal exposure)."
        )
    return None


def use_family(family: str) -> None:
    """Callback of a "use this family" button (Data page, sidebar)."""
    st.session_state[state.FAMILY] = family
    st.session_state[SUGGESTED] = None


def draw(
    frame: pd.DataFrame,
    roles: Roles,
    source: str = "",
    numeric_names: tuple[str, ...] | None = None,
) -> ResponseFamily:
    """The family widgets (inside the sidebar's model box); returns the chosen family."""
    state.keep(state.FAMILY_KEYS)
    ss = st.session_state
    kind = kind_of(source, roles.outcome, frame)
    _follow_outcome(kind, source, roles.outcome)
    family_link.check_link(frame, kind, roles.outcome)  # a link's values the data refuses
    # Trials and offset: any numeric column but the outcome and the groups (the predictor
    # too: a guess may have made the trials column the predictor; the note below says so).
    used = (roles.outcome, *roles.group_columns)
    names = numeric_columns(frame) if numeric_names is None else numeric_names
    numeric = [c for c in names if c not in used]
    options = list(FAMILIES)
    if kind is not None and not kind.numeric:
        options = ["binomial"]  # TRUE/FALSE or text: nothing else can fit it
    if ss.get(state.FAMILY) not in options:
        ss[state.FAMILY] = options[0]
    family = st.radio(
        "Outcome family",
        options,
        format_func=FAMILY_LABELS.get,
        key=state.FAMILY,
        horizontal=True,
        help=FAMILY_HELP,
        on_change=_clear_suggestion,  # the user's own choice needs no explanation
    )
    link = trials = offset = success = None
    if family == "binomial":
        link = _choice("Link", list(LINKS["binomial"]), state.LINK, "logit: odds ratios (default).")
        if kind is not None and kind.needs_success:
            success = _choice(
                "Counts as success (1)",
                list(kind.levels),
                state.SUCCESS,
                "The value modelled as 1; the other is 0. glmer takes the second value.",
                default=kind.default_success,
            )
        elif kind is not None and not kind.zero_one:
            trials = _choice(
                "Trials column",
                [NONE, *numeric],
                state.TRIALS,
                "For successes out of trials: the column of trials (glmer's cbind(s, n - s)).",
                format_func=lambda c: c or "none (0/1 outcome)",
            )
    else:
        ss.pop(state.LINK, None)
    if family != "binomial":
        for key in (state.SUCCESS, state.TRIALS):
            ss.pop(key, None)
    if family != "gaussian":
        offset = _choice(
            "Offset column",
            [NONE, *numeric],
            state.OFFSET,
            "Added to the linear predictor as it is, e.g. the log of exposure time.",
            format_func=lambda c: c or "none",
        )
    else:
        ss.pop(state.OFFSET, None)
    doubled = [c for c in (trials, offset) if c and c in (roles.predictor, *roles.covariates)]
    for column in doubled:
        st.caption(f"`{md(column)}` is also a predictor of the model: choose another there.")
    note = ss.get(SUGGESTED)
    if note:
        st.caption(note)
    elif kind is not None and kind.kind == COUNT and family == "gaussian":
        st.caption(suggestion_text(kind) or "")
        st.button("Fit a Poisson model", key="_use_poisson", on_click=use_family, args=("poisson",))
    try:
        chosen = ResponseFamily(
            family=family,
            link=None if link in (None, LINKS[family][0]) else link,
            trials=trials or None,
            offset=offset or None,
            success=success,
        )
    except ExplorerError as exc:
        st.warning(md(str(exc)))
        chosen = GAUSSIAN
    ss[RESPONSE_FAMILY] = chosen
    _write_url(chosen, kind)
    return chosen


def _clear_suggestion() -> None:
    st.session_state[SUGGESTED] = None


def _follow_outcome(kind: OutcomeKind | None, source: str, outcome: str) -> None:
    """Switch to the binomial family when the user picks a two-valued outcome (or data
    whose outcome it is); the session's first outcome keeps its link's family."""
    ss = st.session_state
    seen = (source, outcome)
    previous = ss.get(SEEN_OUTCOME)
    ss[SEEN_OUTCOME] = seen
    if previous == seen or kind is None:
        return
    if previous is not None:
        ss[SUGGESTED] = None
        for key in (state.TRIALS, state.OFFSET, state.SUCCESS):
            ss.pop(key, None)
    first_numeric = previous is None and kind.numeric
    if kind.kind == BINARY and not first_numeric and ss.get(state.FAMILY) != "binomial":
        ss[state.FAMILY] = "binomial"
        ss[SUGGESTED] = (
            f"Binomial because `{md(outcome)}` has two values; choose Gaussian to fit a "
            "linear model instead."
            if kind.numeric
            else f"Binomial because `{md(outcome)}` has two values."
        )
    elif previous is not None and kind.kind != BINARY and ss.get(state.FAMILY) == "binomial":
        ss[state.FAMILY] = "gaussian"


def _choice(
    label: str,
    options: list[str],
    key: str,
    help_text: str,
    default: str | None = None,
    format_func=str,  # noqa: ANN001
) -> str:
    """A selectbox whose stored value (a link's, another outcome's) is repaired first."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]
    return st.selectbox(label, options, key=key, help=help_text, format_func=format_func)


def _write_url(chosen: ResponseFamily, kind: OutcomeKind | None) -> None:
    values: dict[str, object] = {
        state.FAMILY: chosen.family,
        state.LINK: chosen.link,
        state.TRIALS: chosen.trials,
        state.OFFSET: chosen.offset,
        state.SUCCESS: chosen.success,
    }
    defaults: dict[str, object] = {state.FAMILY: "gaussian"}
    if kind is not None and kind.default_success is not None:
        defaults[state.SUCCESS] = kind.default_success
    state.write_url(values, defaults)


def linear_only(page: str, covers: str) -> None:
    """On a page that fits linear mixed models only: with a binomial or Poisson family,
    say what the page covers and stop, rather than fit a linear model to a 0/1 or count
    outcome without saying so."""
    chosen = current()
    if not chosen.generalized:
        return
    label = FAMILY_LABELS[chosen.family]
    kind = "two-valued" if chosen.family == "binomial" else "count"
    st.info(
        f"The {page} covers {covers}: linear mixed models (lmer) of a measured outcome. The "
        f"sidebar's family is **{label}** (a {kind} outcome), which this page does not fit. "
        f"The Model, Explore and Pooling pages show the {label} model; choose Gaussian in the "
        "sidebar to use this page with a measured outcome.",
        icon=":material/info:",
    )
    st.page_link("pages/3_Model.py", label="Go to the Model page", icon=":material/functions:")
    st.stop()
