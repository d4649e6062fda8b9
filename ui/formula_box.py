"""The sidebar's formula box: the model as lme4 text, typed or read, in sync with the toggles.

One model, two views. The sidebar's toggles (and column roles) plus the *extras* they
cannot show (``lib.model.toggle_view.FormulaExtras``: interactions, ``0 +``, a grouping
column as a fixed effect, random terms outside the level chain) make the ``ModelSpec``
every page fits (``lib.model.toggle_view.combined_spec``); the box shows that spec's
formula. Typing a formula and applying it (Ctrl+Enter, leaving the box, or the Apply
button) parses it with our own parser (``lib.model.formula``, nothing is evaluated),
checks its columns against the data, sets the roles and toggles it can (on the next run,
before they are drawn) and keeps the rest as extras, which the box names. Editing a
toggle changes only what the toggle shows; the extras stay until the formula drops them,
a tutorial preset or "Reset model" replaces the model, or another data set is chosen.

The URL holds the toggles as before; ``formula=`` is added only while there are extras
(the whole formula, which a link applies like a typed one), so old links read unchanged.
A formula that cannot be used is shown at the box with the parser's message (which names
the character) and the previous model stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
import streamlit as st

from lib.errors import ExplorerError
from lib.model.formula import parse_formula
from lib.model.response import GAUSSIAN, ResponseFamily
from lib.model.spec import ModelSpec
from lib.model.toggle_view import FormulaExtras, ToggleView, check_columns, toggle_view
from lib.model.transforms import with_derived
from lib.present.family import glmer_formula
from lib.present.markdown import md
from lib.table.roles import Roles
from ui import level_widgets, state

TEXT = "_formula_text"  # the text area's key
PENDING = "_formula_pending"  # text applied by the box, read on the next run
ERROR = "_formula_error"  # (text, message): the last formula that could not be used
MADE = "_formula_made"  # names the centring made on the last run (for a clearer message)


def _submit() -> None:
    st.session_state[PENDING] = st.session_state.get(TEXT, "")


def apply_pending(frame: pd.DataFrame, numeric: Sequence[str]) -> None:
    """Apply a typed formula, or a link's ``formula=``, before the role widgets are drawn."""
    text = st.session_state.pop(PENDING, None)
    from_link = False
    if (
        text is None
        and st.session_state.get(state.FORMULA)
        and (st.session_state.get(state.FORMULA_EXTRAS) is None)
    ):
        text, from_link = str(st.session_state[state.FORMULA]), True
    if text is None:
        return
    try:
        spec = parse_formula(text, reml=st.session_state.get(state.METHOD, "REML") == "REML")
        made = st.session_state.get(MADE, ())
        text_outcome = st.session_state.get(state.FAMILY, "gaussian") != "gaussian"
        check_columns(spec, [str(c) for c in frame.columns], numeric, made, text_outcome)
        with_derived(frame, spec.columns)  # log of a negative value: said here, not later
    except ExplorerError as exc:
        if from_link:
            st.session_state[state.FORMULA] = ""
            notes = st.session_state.setdefault(state.URL_IGNORED, [])
            notes.append(f"formula: {exc}")
        else:
            st.session_state[ERROR] = (text, str(exc))
        return
    view = toggle_view(spec, numeric, st.session_state.get(state.PREDICTOR))
    _set_toggles(view)
    st.session_state[state.FORMULA_EXTRAS] = view.extras
    st.session_state[state.FORMULA] = "" if view.extras.empty else spec.formula()
    st.session_state[ERROR] = None


def _set_toggles(view: ToggleView) -> None:
    """Put a ToggleView into the sidebar's widget keys (before they are drawn)."""
    state.set_roles(
        Roles(
            outcome=view.outcome,
            predictor=view.predictor,
            group=view.group,
            covariates=view.covariates,
            levels=view.levels,
        )
    )
    ss = st.session_state
    ss[state.FIXED_SLOPE] = view.fixed_slope
    ss[state.METHOD] = "REML" if view.reml else "ML"
    for k, keys in enumerate(state.LEVEL_TOGGLE_KEYS):
        intercept_key, slope_key, correlated_key = keys
        effects = view.effects[k] if k < len(view.effects) else None
        ss[intercept_key] = effects.intercept if effects else True
        ss[slope_key] = effects.slope if effects else False
        ss[correlated_key] = effects.correlated if effects else True
        ss[state.LEVEL_SLOPE_KEYS[k]] = list(effects.slopes) if effects and effects.slope else None
    ss[level_widgets._SLOPES_PREDICTOR] = view.predictor  # keep these slopes as set


def extras() -> FormulaExtras:
    """What the current model has beyond the toggles (empty without a typed formula)."""
    if not st.session_state.get(state.FORMULA):
        return FormulaExtras()
    return st.session_state.get(state.FORMULA_EXTRAS) or FormulaExtras()


def drop_extras() -> None:
    """Callback: fit what the toggles show, without the typed formula's extras."""
    st.session_state[state.FORMULA] = ""
    st.session_state[state.FORMULA_EXTRAS] = None


def draw(
    spec: ModelSpec | None, response: ResponseFamily = GAUSSIAN, made: Iterable[str] = ()
) -> None:
    """The box with ``spec``'s formula (or the text that failed, with its message).

    For a generalized ``response`` the code block is glmer's formula (trials as
    ``cbind(s, n - s)``, ``offset()``); the text area keeps the lme4 formula the parser reads.
    """
    st.session_state[MADE] = tuple(made)
    extra = extras()
    if spec is not None:  # the URL and the next run follow toggle edits
        st.session_state[state.FORMULA] = "" if extra.empty else spec.formula()
    failed = st.session_state.get(ERROR)
    st.session_state[ERROR] = None  # shown once; the next change shows the model again
    if failed is not None:
        st.session_state[TEXT] = failed[0]
    elif spec is not None:
        st.session_state[TEXT] = spec.formula()
    if spec is not None:  # the model as the class reads it (the Model page's block)
        shown = glmer_formula(spec, response) if response.generalized else spec.formula()
        st.code(shown, language="r", wrap_lines=True)
    with st.expander("Type a formula", expanded=failed is not None, icon=":material/edit:"):
        st.text_area(
            "Formula (lme4)",
            key=TEXT,
            height=128,
            on_change=_submit,
            help="The model in lme4's notation, e.g. `y ~ x * z + (1 + x | g)`. Edit it and "
            "press Ctrl+Enter or Apply: the toggles follow. Names that are not plain words "
            "go in backticks. Nothing typed here is run as code.",
        )
        st.button("Apply formula", key="_formula_apply", on_click=_submit, icon=":material/check:")
        if failed is not None:
            st.error(f"{md(failed[1])}  \nThe model is unchanged.", icon=":material/error:")
    if not extra.empty:
        items = ", ".join(md(label) for label in extra.labels())
        st.info(
            f"This formula has terms the toggles cannot show: {items}. They are fitted as "
            "typed; the toggles change the rest.",
            icon=":material/info:",
        )
        st.button(
            "Fit what the toggles show",
            key="_formula_drop",
            on_click=drop_extras,
            help="Drop the terms listed above.",
        )
