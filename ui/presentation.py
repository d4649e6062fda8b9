"""Presentation mode (``present=1`` in the URL): a projector-first layout.

On: the sidebar starts collapsed, tables are drawn as static tables in larger
type (``st.dataframe`` draws on a canvas that CSS cannot enlarge), chart axes
and legends get larger fonts, and each page's heading names the current model
(and the tutorial preset it matches). The flag is read from the URL once per
session, kept in the session (Streamlit clears query parameters on a page
switch) and written back to the URL so a copied link presents too.

The only HTML sent is the fixed style sheet below; no user text goes into it.
"""

from __future__ import annotations

import copy
import re

import streamlit as st

from lib.model.spec import ModelSpec
from lib.present.markdown import md
from ui import state

PARAM = "present"
_KEY = "_present"
FONT_SCALE = 1.3  # chart text in presentation mode, relative to lib.charts.style.FONT

_CSS = """
<style>
[data-testid="stTable"] table { font-size: 1.25rem; }
[data-testid="stTable"] th { font-size: 1.2rem; }
[data-testid="stMetricValue"] { white-space: nowrap; overflow: visible; }
</style>
"""


def read_url() -> None:
    """Note the URL's ``present`` value in the session; once per run, first thing
    (``sidebar_state``): ``is_on`` is asked ~20 times a run, and a query-parameter
    read costs a Streamlit call each time."""
    raw = st.query_params.get(PARAM)
    if raw is not None:
        st.session_state[_KEY] = raw in ("1", "true")


def is_on() -> bool:
    """Whether this session presents (URL ``present=1`` seen at any point)."""
    return bool(st.session_state.get(_KEY, False))


def apply() -> None:
    """Style sheet and URL flag; call once per page run after ``set_page_config``."""
    if not is_on():
        return
    if st.query_params.get(PARAM) != "1":
        st.query_params[PARAM] = "1"
    st.html(_CSS)


def sidebar_state() -> str:
    """``initial_sidebar_state`` for ``st.set_page_config`` (every page's first call)."""
    read_url()
    return "collapsed" if is_on() else "expanded"


def active_preset() -> str | None:
    """The tutorial preset whose toggles equal the sidebar's, or None."""
    defaults = state.model_defaults()
    predictor = st.session_state.get(state.PREDICTOR)
    if st.session_state.get(state.SLOPES) not in (None, [predictor]):
        return None  # a preset's random slope is the predictor's alone
    for name, toggles in state.PRESETS.items():
        values = {**{k: defaults.get(k) for k in toggles}, **toggles}
        if all(st.session_state.get(k, defaults.get(k)) == v for k, v in values.items()):
            return name
    return None


def model_name(spec: ModelSpec | None) -> str:
    """A short plain-text name for the heading: the preset or 'custom model'."""
    if spec is None:
        return "no valid model"
    return active_preset() or "custom model"


def heading(title: str, sel: object, subtitle: str | None = None) -> None:
    """The page title; in presentation mode followed by what the page shows.

    ``subtitle`` (Markdown, user text already escaped) names it on pages whose subject
    is not the sidebar's model (Explore, Compare, Sandbox, a lesson step); without it
    the line names the sidebar's model and its formula.
    """
    st.title(title)
    if not is_on():
        return
    if subtitle is not None:
        st.markdown(subtitle)
        return
    spec = getattr(sel, "spec", None)
    if spec is None:
        return
    st.markdown(f"**{md(model_name(spec))}** · `{spec.formula().replace('`', chr(39))}`")


def scale_chart(spec: dict) -> dict:
    """A copy of a Vega-Lite spec with larger axis, legend and title fonts when presenting."""
    if not is_on():
        return spec
    out = copy.deepcopy(spec)
    config = out.setdefault("config", {})
    for section in ("axis", "legend", "header"):
        part = config.setdefault(section, {})
        for key in ("labelFontSize", "titleFontSize"):
            if key in part:
                part[key] = round(part[key] * FONT_SCALE)
    title = config.setdefault("title", {})
    for key in ("fontSize", "subtitleFontSize"):
        if key in title:
            title[key] = round(title[key] * FONT_SCALE)
    return out


def key_numbers(fit) -> None:  # noqa: ANN001 - LmmFit
    """The fit's key numbers on one wrapping line of text (metrics would be cut to "98…")."""
    groups = ", ".join(f"{md(name)} {n:,}" for name, n in fit.ngroups.items())
    on = "REML" if fit.reml else "ML"
    st.markdown(
        f"**{fit.criterion_name}** {fit.criterion:,.1f} · **AIC ({on})** {fit.aic:,.1f} · "
        f"**BIC ({on})** {fit.bic:,.1f} · **n** {fit.nobs:,} · **groups** {groups}"
    )


def toc(sections: tuple[str, ...]) -> None:
    """Links to the page's section headings (Streamlit anchors every subheader)."""
    links = " · ".join(f"[{name}](#{_anchor(name)})" for name in sections)
    st.markdown(f"**On this page:** {links}")


def _anchor(text: str) -> str:
    # Streamlit's heading anchors: lower case, runs of non-alphanumerics -> "-".
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")
