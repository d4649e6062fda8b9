"""The sidebar every page draws: page links, the model toggles, data set and column roles.

All widgets use ``key=`` from ``ui.state``; ``state.keep`` carries their
values over page switches and ``state.write_url`` mirrors them in the URL (see
``ui.state`` for why not ``bind="query-params"``). Each selector's default is
the data set's default role; a stored value that no longer fits the options
(another data set was chosen, or a link named a column that is not there) is
replaced before the widget is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from lib.errors import ExplorerError
from lib.model.centring import CentredModel, apply_centring
from lib.model.levels import LevelEffects
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.model.toggle_view import combined_spec
from lib.model.transforms import derived_names, with_derived
from lib.present.markdown import md
from lib.table.catalogue import BUNDLED, DEFAULT_DATASET
from lib.table.roles import Roles
from ui import (
    big,
    cache,
    centring_widgets,
    family_widgets,
    formula_box,
    level_widgets,
    presentation,
    role_widgets,
    serve,
    state,
)
from ui import shared as shared_view
from ui.big import Big
from ui.turn import page_turn


@dataclass(frozen=True, eq=False)
class Selection:
    """What the sidebar chose: data, roles and (if consistent) the model spec.

    Attributes
    ----------
    option : str
        Data-set option (bundled key or ``state.UPLOAD_OPTION``).
    source : str
        Content-based cache id of the data (``ui.cache.source_id``).
    title : str
        Human-readable name of the data set.
    frame : DataFrame or None
        None when the data could not be loaded (``error`` says why).
    roles : Roles or None
    spec : ModelSpec or None
        None when the toggles give no valid model (``spec_error`` says why).
    big : ui.big.Big or None
        Set for a large upload: ``frame`` is then a random sample of its rows, and
        the pages count, summarise and fit every row through ``ui.big``.
    effects : tuple of LevelEffects
        The random effects the toggles ask for at each level, top first (the Ladder
        keeps the lower levels' as they are).
    before_centring : Selection or None
        With centring on (``ui.centring_widgets``), the selection before it: ``frame``,
        ``spec`` and ``roles`` above name the centred columns (``hours_cwc``).
    """

    option: str
    source: str
    title: str
    frame: pd.DataFrame | None = None
    roles: Roles | None = None
    spec: ModelSpec | None = None
    error: str | None = None
    spec_error: str | None = None
    big: Big | None = None
    effects: tuple[LevelEffects, ...] = ()
    before_centring: Selection | None = None

    @property
    def ready(self) -> bool:
        return self.frame is not None and self.roles is not None

    def uncentred(self) -> Selection:
        """This selection without the sidebar's centring: the data's own columns (the
        Within & between page centres by itself)."""
        return self.before_centring or self


def run_page(
    title: str, icon: str, draw: Callable[[Selection], None], *, needs_data: bool = True
) -> None:
    """A whole page, in turn (``ui.turn``): page config, the sidebar, then ``draw``
    with the selection, stopped with a message first when ``needs_data`` and no usable
    data is chosen. Every page file is one call of this."""
    with page_turn():
        selection = start_page(title, icon)
        if needs_data:
            require_data(selection)
        draw(selection)


def start_page(title: str, icon: str) -> Selection:
    """Every page's first lines: page config, then the shared sidebar."""
    st.set_page_config(
        page_title=f"{title} · Multilevel Explorer",
        page_icon=icon,
        layout="wide",
        initial_sidebar_state=presentation.sidebar_state(),
    )
    presentation.apply()
    serve.fit_pool()  # the fit workers start with the server's first page, not its first fit
    return draw_sidebar()


def require_data(selection: Selection) -> None:
    """Stop the page with a friendly message and a link when no usable data is chosen."""
    if selection.ready and selection.roles.outcome and selection.roles.group:
        return
    st.info("Choose a data set and its columns first.", icon=":material/info:")
    st.page_link("pages/1_Data.py", label="Go to the Data page", icon=":material/table:")
    st.stop()


def draw_sidebar() -> Selection:
    """Draw the shared sidebar and return the current selection."""
    first_run = state.init_state()
    state.keep(state.SIDEBAR_KEYS)
    with st.sidebar:
        _navigation()
        # The model toggles are what a class clicks most, so they come first (above the
        # fold at 1280x720); they are drawn last, once the data and roles are known.
        model_box = st.container()
        st.header("Data")
        option, title, upload = _dataset_selector()
        source = cache.source_id(option, upload)
        try:
            frame = cache.frame_for(option, upload)
            defaults = cache.default_roles(source, option, frame)
            large = big.load(upload) if source.startswith("upload-sample:") else None
        except ExplorerError as exc:
            show_error(exc)
            state.write_url({state.DATASET: option}, {state.DATASET: DEFAULT_DATASET})
            return Selection(option=option, source=source, title=title, error=str(exc))
        numeric, outcomes = cache.column_kinds(source, frame)  # read once per data set
        formula_box.apply_pending(frame, numeric)  # before the roles are drawn
        roles = role_widgets.role_selectors(frame, defaults, numeric, outcomes)
        with model_box:
            st.header("Model")
            spec, spec_error, effects, slots = _model_toggles(roles, numeric)
            response = family_widgets.draw(frame, roles, source, numeric)  # issue 16
            _method_and_formula(slots, spec, response)
            model_frame, source, spec, spec_error = _derived(frame, source, spec, spec_error)
            centred = _centring(model_frame, source, spec, large is not None)
        chosen = _write_url(option, roles, defaults)
        if first_run:  # which of a shared link's values could not be used, and why
            state.note_ignored(chosen, frame.columns, numeric, title)
        st.caption(
            ":material/link: The address bar holds these choices: copy it to share this view "
            "(an uploaded file is not shared)."
        )
    _show_ignored()
    selection = Selection(
        option=option,
        source=source,
        title=title,
        frame=model_frame,
        roles=roles,
        spec=spec,
        spec_error=spec_error,
        big=large,
        effects=tuple(effects),
    )
    return selection if centred is None else _with_centring(selection, centred)


NAV = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Data.py", "Data", ":material/table:"),
    ("pages/2_Explore.py", "Explore", ":material/bar_chart:"),
    ("pages/3_Model.py", "Model", ":material/functions:"),
    ("pages/4_Compare.py", "Compare", ":material/compare_arrows:"),
    ("pages/5_Pooling.py", "Pooling", ":material/join_inner:"),
    ("pages/6_Ladder.py", "Ladder", ":material/stairs:"),
    ("pages/7_Sandbox.py", "Sandbox", ":material/casino:"),
    ("pages/8_Lesson.py", "Lesson", ":material/school:"),
    ("pages/9_Within_and_between.py", "Within & between", ":material/stacked_line_chart:"),
)


def _navigation() -> None:
    # Streamlit's own page list would call the home page "app" (its file name), so it is
    # switched off in .streamlit/config.toml and drawn here instead.
    # No divider below them: its margins would push the model toggles below the fold.
    for path, label, icon in NAV:
        st.page_link(path, label=label, icon=icon)


def _show_ignored() -> None:
    """One message listing what a shared link asked for that could not be used."""
    notes = st.session_state.get(state.URL_IGNORED) or []
    if not notes:
        return
    items = "\n".join(f"- {md(note)}" for note in notes)
    with st.container(border=False):
        st.warning(
            "Some values in this link do not apply here, so the defaults are shown "
            f"instead:\n{items}",
            icon=":material/link_off:",
        )
        st.button("Dismiss", key="_dismiss_url_notes", on_click=state.dismiss_ignored)


def _write_url(option: str, roles: Roles, defaults: Roles) -> dict[str, object]:
    values = {key: st.session_state.get(key) for key in state.SIDEBAR_KEYS}
    values.update(
        {
            state.DATASET: option,
            state.OUTCOME: roles.outcome,
            state.PREDICTOR: roles.predictor,
            state.GROUP: roles.group,
            state.COVARIATES: list(roles.covariates),
            **level_widgets.url_values(roles),
        }
    )
    default_values = {
        **level_widgets.url_defaults(defaults, roles.predictor),
        state.DATASET: DEFAULT_DATASET,
        state.OUTCOME: defaults.outcome,
        state.PREDICTOR: defaults.predictor,
        state.GROUP: defaults.group,
        state.COVARIATES: [],
        **state.model_defaults(),
    }
    state.write_url(values, default_values)
    return values


def _dataset_selector() -> tuple[str, str, object | None]:
    shared = shared_view.check_link()  # a shared link's metadata, or None
    options = state.dataset_options()
    if st.session_state.get(state.DATASET, DEFAULT_DATASET) not in options:
        st.session_state[state.DATASET] = DEFAULT_DATASET
    option = st.selectbox(
        "Data set",
        options,
        index=options.index(DEFAULT_DATASET),
        format_func=shared_view.option_label(shared),
        key=state.DATASET,
        on_change=state.on_dataset_change,
        help="Bundled data sets, or your own file from the Data page.",
    )
    upload = st.session_state.get(state.UPLOAD)
    if shared is not None and cache.shared_token(option) is not None:
        return option, shared_view.caption(shared), upload
    if option == state.UPLOAD_OPTION and upload is not None:
        title = f"Uploaded file {upload.name}"
        st.caption(f"Uploaded file: {_escape(upload.name)} (only in this browser session)")
    else:
        title = BUNDLED[option].title
        st.caption(title)
    return option, title, upload


def _model_toggles(
    roles: Roles, numeric: Sequence[str]
) -> tuple[ModelSpec | None, str | None, list[LevelEffects], tuple]:
    defaults = state.model_defaults()
    no_x = roles.predictor is None
    fixed_slope = st.toggle(
        "Fixed slope",
        value=bool(defaults[state.FIXED_SLOPE]),
        key=state.FIXED_SLOPE,
        disabled=no_x,
        help="One overall slope of the predictor: `1 + x` in the formula.",
    )
    effects = level_widgets.level_toggles(roles, no_x, numeric)
    # The estimation choice and the formula block are drawn once the family is known (it is
    # chosen below them): a generalized model has glmer's formula and no REML.
    method_slot = st.container()
    method = st.session_state.get(state.METHOD, defaults[state.METHOD])
    st.button(
        "Reset model",
        key="_reset_model",
        on_click=state.apply_changes,
        args=(
            {
                **state.model_defaults(),
                **dict.fromkeys(state.LEVEL_SLOPE_KEYS),
                state.FORMULA_EXTRAS: None,
            },
        ),
        icon=":material/restart_alt:",
    )
    slots = (method_slot, st.container())
    x = roles.predictor
    try:
        spec = combined_spec(
            roles.outcome,
            roles.group,
            roles.levels,
            effects,
            fixed=((x,) if fixed_slope and x else ()) + roles.covariates,
            slope=x,
            reml=method == "REML",
            extras=formula_box.extras(),
        )
    except ExplorerError as exc:
        with slots[1]:
            st.warning(md(str(exc)))
        return None, str(exc), effects, slots
    return spec, None, effects, slots


def _method_and_formula(slots: tuple, spec: ModelSpec | None, response: ResponseFamily) -> None:
    """The REML/ML choice (disabled for a generalized family) and the formula box."""
    method_slot, box_slot = slots
    with method_slot:
        st.radio(
            "Estimation",
            state.METHODS,
            index=state.METHODS.index(str(state.model_defaults()[state.METHOD])),
            key=state.METHOD,
            horizontal=True,
            disabled=response.generalized,
            help="REML (lme4's default) for variance components; ML to compare models that "
            "differ in their fixed effects.",
        )
        if response.generalized:  # glmer has no REML: its criterion is the likelihood
            st.caption(
                "A generalized model is fitted by maximum likelihood (Laplace or adaptive "
                "quadrature), as glmer: REML and ML are for linear models."
            )
    with box_slot:
        formula_box.draw(spec, response)


def _derived(
    frame: pd.DataFrame, source: str, spec: ModelSpec | None, spec_error: str | None
) -> tuple[pd.DataFrame, str, ModelSpec | None, str | None]:
    """The data with the columns the formula computes (``log(x)``, ``I(x^2)``,
    ``lib.model.transforms``), and a source id that tells the caches apart."""
    if spec is None:
        return frame, source, spec, spec_error
    names = derived_names(frame, spec.columns)
    if not names:
        return frame, source, spec, spec_error
    try:
        return with_derived(frame, names), f"{source}|derived:{names!r}", spec, None
    except ExplorerError as exc:
        show_error(exc)
        return frame, source, None, str(exc)


def _centring(
    frame: pd.DataFrame, source: str, spec: ModelSpec | None, large: bool
) -> CentredModel | None:
    """The centring controls, and the model with the columns they make (None: no centring)."""
    if spec is None:
        return None
    if large:
        st.caption("Centring is for files that fit in memory; this one is fitted by DuckDB.")
        return None
    chosen = centring_widgets.draw(spec, set(cache.column_kinds(source, frame)[0]))
    if not chosen:
        return None
    try:
        centred = apply_centring(frame, spec, chosen)
    except ExplorerError as exc:
        show_error(exc)
        return None
    st.markdown("**Fitted with the centred columns:**")
    st.code(centred.spec.formula(), language="r", wrap_lines=True)
    st.caption("  \n".join(f"{md(c.name)}: {md(c.describe())}" for c in centred.created))
    return centred


def _with_centring(selection: Selection, centred: CentredModel) -> Selection:
    """The selection with the centred data and spec; the roles name the new columns, so
    the scatter shows the centred predictor with the lines of its fitted slope."""
    rename = {c.source: c.name for c in centred.created if c.kind != "mean"}
    means = tuple(c.name for c in centred.created if c.kind == "mean")
    roles = selection.roles
    predictor = rename.get(roles.predictor, roles.predictor) if roles.predictor else None
    covariates = tuple(rename.get(c, c) for c in roles.covariates) + means
    effects = tuple(
        replace(e, slopes=tuple(rename.get(s, s) for s in e.slopes)) for e in selection.effects
    )
    key = repr(centred.created)  # what was made, from which column, by which groups
    return replace(
        selection,
        source=f"{selection.source}|centre:{key}",
        frame=centred.frame,
        roles=replace(roles, predictor=predictor, covariates=covariates),
        spec=centred.spec,
        effects=effects,
        before_centring=selection,
    )


def _escape(text: str) -> str:
    return md(text)


def show_error(exc: Exception | str) -> None:
    """An ExplorerError's message, shown literally (it may quote user column names)."""
    st.error(md(str(exc)), icon=":material/error:")
