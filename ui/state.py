"""Session-state keys, their defaults, the URL they live in, and the callbacks.

Every key lives here as a constant. Widget keys double as URL query
parameters, so a copied link restores the data set (bundled ones), the column
roles, the model toggles and (through the path) the page.

Why not ``bind="query-params"``: Streamlit 1.67 has it, and it syncs a widget
with the URL both ways, but a value that came from the URL (a shared link) is
reset to the widget's default, and dropped from the address bar, on the first
page switch of the session (reproduced in headless chromium with a two-page,
two-widget app; later switches work). So the URL is handled here instead:

1. ``init_state`` seeds the widget keys from ``st.query_params`` on the
   session's first run (invalid values are replaced by the sidebar's checks);
2. ``keep`` re-asserts each widget's value before it is drawn
   (``st.session_state[k] = st.session_state[k]``), which carries it over a
   page switch;
3. ``write_url`` puts every non-default value back into ``st.query_params``
   after the widgets are drawn, with the names and formats ``bind`` would use
   (``random_slope=true``, ``data=dietox``, repeated ``covariates=``).

Defaults come from functions called per session (``init_state``,
``model_defaults``), never from module-level objects shared between sessions.
An upload is kept only in that session's ``st.session_state`` (as bytes plus
their SHA-256); it is never written to disk or to a module global.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from lib.errors import ExplorerError
from lib.model.spec import NESTED, GroupLevel
from lib.present.explain_levels import Simplification
from lib.table.catalogue import BUNDLED, DEFAULT_DATASET
from lib.table.roles import Roles, guess_roles
from ui import big, cache

# Widget keys = URL query parameters.
DATASET = "data"
OUTCOME = "y"
PREDICTOR = "x"
GROUP = "group"
COVARIATES = "covariates"
FIXED_SLOPE = "fixed_slope"
RANDOM_INTERCEPT = "random_intercept"
RANDOM_SLOPE = "random_slope"
CORRELATED = "correlated"
METHOD = "method"
# Lower grouping levels: a column ("" = none), its relation to the level above
# ("nested" | "crossed") and that level's random-effect toggles.
GROUP2 = "group2"
RELATION2 = "group2_relation"
RANDOM_INTERCEPT2 = "random_intercept2"
RANDOM_SLOPE2 = "random_slope2"
CORRELATED2 = "correlated2"
GROUP3 = "group3"
RELATION3 = "group3_relation"
RANDOM_INTERCEPT3 = "random_intercept3"
RANDOM_SLOPE3 = "random_slope3"
CORRELATED3 = "correlated3"
BINWIDTH = "binwidth"  # Explore page only
EXPLORE_BY = "by"  # Explore page only: the grouping factor the views are drawn by
LINES_BY = "lines_by"  # Model page only: the grouping factor of the fitted lines
# Issue 15: a typed formula with terms the toggles cannot show ("" = the toggles show the
# whole model; ui.formula_box), and the centring of predictors (ui.centring_widgets), one
# JSON list per centred column: ["ses", "within", ["school"], true].
FORMULA = "formula"
CENTRING = "centre"
FORMULA_EXTRAS = "_formula_extras"  # session only: the FormulaExtras of FORMULA, once read

# Per level, top first: the keys of its column and relation (none for the top level,
# whose column is GROUP) and of its random intercept, slope and correlation toggles.
LOWER_LEVEL_KEYS = ((GROUP2, RELATION2), (GROUP3, RELATION3))
LEVEL_TOGGLE_KEYS = (
    (RANDOM_INTERCEPT, RANDOM_SLOPE, CORRELATED),
    (RANDOM_INTERCEPT2, RANDOM_SLOPE2, CORRELATED2),
    (RANDOM_INTERCEPT3, RANDOM_SLOPE3, CORRELATED3),
)

# How each URL parameter is read: one string, a bool, a list or a number.
URL_KINDS: dict[str, str] = {
    DATASET: "str",
    OUTCOME: "str",
    PREDICTOR: "str",
    GROUP: "str",
    COVARIATES: "list",
    FIXED_SLOPE: "bool",
    RANDOM_INTERCEPT: "bool",
    RANDOM_SLOPE: "bool",
    CORRELATED: "bool",
    METHOD: "str",
    GROUP2: "optional",
    RELATION2: "str",
    RANDOM_INTERCEPT2: "bool",
    RANDOM_SLOPE2: "bool",
    CORRELATED2: "bool",
    GROUP3: "optional",
    RELATION3: "str",
    RANDOM_INTERCEPT3: "bool",
    RANDOM_SLOPE3: "bool",
    CORRELATED3: "bool",
    BINWIDTH: "float",
    EXPLORE_BY: "str",
    LINES_BY: "str",
    FORMULA: "optional",
    CENTRING: "list",
}
# Classroom (issue 18): the columns with a random slope at each level, top first, when
# that level's "Random slope" toggle is on (repeated ``slopes=`` in the URL). Not set:
# the predictor alone, so a link with only ``random_slope=true`` gives the model it gave.
SLOPES, SLOPES2, SLOPES3 = "slopes", "slopes2", "slopes3"
LEVEL_SLOPE_KEYS = (SLOPES, SLOPES2, SLOPES3)
URL_KINDS.update(dict.fromkeys(LEVEL_SLOPE_KEYS, "list"))

# GLMM Model page only (issue 16): glmer's nAGQ, one of the approximations offered there
# (``ui.views.model_glmm``); not in a link means Laplace (1), as every older link.
NAGQ = "nagq"
NAGQ_VALUES = (1, 9, 25, 0)
URL_KINDS[NAGQ] = "nagq"

PAGE_KEYS = (BINWIDTH, EXPLORE_BY, LINES_BY, NAGQ)
SIDEBAR_KEYS = tuple(k for k in URL_KINDS if k not in PAGE_KEYS)

# Issue 16: the outcome's family (``lib.model.response.ResponseFamily``) beside the model
# toggles, in the URL as ``family=binomial&success=Y`` (``trials=``, ``offset=``, ``link=``).
# Not in SIDEBAR_KEYS: ``ui.family_widgets`` keeps them and writes them to the URL itself,
# so a link without them (every older link) means a Gaussian model, as it did; a link's
# values the data cannot take are ignored with a note by ``ui.family_link``.
FAMILY, LINK, TRIALS, OFFSET, SUCCESS = "family", "link", "trials", "offset", "success"
FAMILY_KEYS = (FAMILY, LINK, TRIALS, OFFSET, SUCCESS)
URL_KINDS.update(dict.fromkeys(FAMILY_KEYS, "str"))

# Session-only keys (never in the URL).
UPLOAD = "_upload"  # UploadedTable | None: this session's uploaded file
UPLOAD_ERROR = "_upload_error"  # str | None: why the last upload was refused
UPLOAD_WIDGET = "_upload_widget"  # the st.file_uploader's key
URL_SEEDED = "_url_seeded"  # True once this session has read its first URL

URL_ASKED = "_url_asked"  # the values this session's first URL asked for
URL_IGNORED = "_url_ignored"  # why some of them were not used (shown until dismissed)

# Classroom (issue 18): the roles the sidebar showed last, and why other roles changed with
# the one the user set last (shown while those roles stand).
ROLES_SHOWN = "_roles_shown"
ROLE_NOTES = "_role_notes"

UPLOAD_OPTION = "your upload"  # the data-set choice that means "this session's upload"

# --- Shared data (issue 17, docs/sharing.md): a DATASET value "shared:TOKEN" is the table
# a session shared through a link; the token itself is never shown as a name.
SHARED_PREFIX = cache.SHARED_PREFIX
SHARE_RECEIPTS = "_share_receipts"  # {upload digest: ShareReceipt}: links this session made
SHARE_WIDGET = "_share_upload"  # the Data page's "Share this data" checkbox
SHARE_ERROR = "_share_error"  # why the last share was refused (too large, ...)
OWNED_LINKS = "_owned_links"  # {token: ShareReceipt}: links whose manage link this session opened
PENDING_LINK = "_pending_link"  # a link's values that wait for its upload (issue 18)
PENDING_KEYS = (
    DATASET,
    OUTCOME,
    PREDICTOR,
    GROUP,
    COVARIATES,
    GROUP2,
    RELATION2,
    GROUP3,
    RELATION3,
)
METHODS = ("REML", "ML")

PRESETS: dict[str, dict[str, bool]] = {
    "Null model": {FIXED_SLOPE: False, RANDOM_INTERCEPT: True, RANDOM_SLOPE: False},
    "Random intercept": {FIXED_SLOPE: True, RANDOM_INTERCEPT: True, RANDOM_SLOPE: False},
    "Random slope": {FIXED_SLOPE: False, RANDOM_INTERCEPT: False, RANDOM_SLOPE: True},
    "Random intercept and slope": {
        FIXED_SLOPE: True,
        RANDOM_INTERCEPT: True,
        RANDOM_SLOPE: True,
        CORRELATED: True,
    },
}


@dataclass(frozen=True)
class UploadedTable:
    """One session's uploaded file: name, bytes and their digest (the cache key)."""

    name: str
    content: bytes
    digest: str

    @classmethod
    def from_bytes(cls, name: str, content: bytes) -> UploadedTable:
        return cls(name=name, content=content, digest=hashlib.sha256(content).hexdigest())


def model_defaults() -> dict[str, object]:
    """Fresh defaults of the model toggles (the tutorial's random-intercept model)."""
    values: dict[str, object] = {FIXED_SLOPE: True}
    for intercept, slope, correlated in LEVEL_TOGGLE_KEYS:
        values.update({intercept: True, slope: False, correlated: True})
    values[METHOD] = "REML"
    values[FORMULA] = ""
    values[CENTRING] = []
    return values


def init_state() -> bool:
    """Create this session's non-widget keys; on its first run, read the URL.

    Returns True on that first run (the sidebar then checks which of the URL's values
    could be used, ``note_ignored``).
    """
    st.session_state.setdefault(UPLOAD, None)
    st.session_state.setdefault(UPLOAD_ERROR, None)
    if st.session_state.get(URL_SEEDED):
        return False
    st.session_state[URL_SEEDED] = True
    values, unreadable = read_url(st.query_params)
    for key, value in values.items():
        st.session_state[key] = value
    st.session_state[URL_ASKED] = values
    st.session_state[URL_IGNORED] = unreadable
    if values.get(DATASET) == UPLOAD_OPTION:  # kept in the address bar until the upload
        st.session_state[PENDING_LINK] = dict(values)
    return True


def parse_url(params) -> dict[str, object]:  # noqa: ANN001 - st.query_params or a Mapping
    """Widget values from URL parameters; unreadable ones are left out."""
    return read_url(params)[0]


def read_url(params) -> tuple[dict[str, object], list[str]]:  # noqa: ANN001
    """Widget values from URL parameters, and a note on each unreadable one."""
    notes: list[str] = []
    values: dict[str, object] = {}
    for key, kind in URL_KINDS.items():
        if key not in params:
            continue
        raw = params.get_all(key) if hasattr(params, "get_all") else params[key]
        raw_list = [str(v) for v in (raw if isinstance(raw, list | tuple) else [raw])]
        last = raw_list[-1] if raw_list else ""
        if kind == "list":
            values[key] = [v for v in raw_list if v != ""]
        elif kind == "bool":
            if last.lower() in ("true", "false"):
                values[key] = last.lower() == "true"
            else:
                notes.append(f"{key}={_shown(last)}: not true or false")
        elif kind == "float":
            try:
                number = float(last)
            except ValueError:
                number = float("nan")
            if number > 0 and number == number and number != float("inf"):
                values[key] = number
            else:
                notes.append(f"{key}={_shown(last)}: not a positive number")
        elif kind == "nagq":
            if last in [str(n) for n in NAGQ_VALUES]:
                values[key] = int(last)
            else:
                choices = ", ".join(str(n) for n in NAGQ_VALUES)
                notes.append(f"{key}={_shown(last)}: nAGQ is one of {choices}")
        elif kind == "str" and last:
            values[key] = last
        elif kind == "optional":  # "" means "none" (e.g. no second grouping column)
            values[key] = last
    return values, notes


def _shown(value: object) -> str:
    """A URL value quoted for a message (cut, so a long link cannot fill the page)."""
    text = str(value)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


quoted = _shown  # the same, for the family's link notes (ui.family_link)


COLUMN_ROLES = {
    OUTCOME: "the outcome",
    PREDICTOR: "the predictor",
    GROUP: "the grouping column",
    GROUP2: "the second grouping column",
    GROUP3: "the third grouping column",
    COVARIATES: "another fixed effect",
}


def ignored_reasons(
    asked: dict[str, object],
    chosen: dict[str, object],
    columns: tuple[str, ...],
    numeric: tuple[str, ...],
    title: str,
) -> list[str]:
    """Why values a link asked for were not used, one plain-text note per value.

    ``asked`` are the URL's readable values (``read_url``), ``chosen`` what the
    sidebar ended up with; a value that differs was replaced by a default.
    """
    notes = []
    for key, value in asked.items():
        if key in PAGE_KEYS or key in (FORMULA, CENTRING) or key in FAMILY_KEYS:
            continue  # ui.formula_box, ui.centring_widgets, ui.family_widgets note their own
        got = chosen.get(key)
        if key == COVARIATES:
            missing = [v for v in value if v not in (got or [])]  # type: ignore[union-attr]
            notes.extend(_column_reason(key, v, chosen, columns, numeric, title) for v in missing)
            continue
        if got == value or (value == "" and not got):
            continue
        if key == DATASET:
            if cache.shared_token(value) is not None:
                continue  # noted with the store's message when it failed (ui.shared)
            if value == UPLOAD_OPTION:
                notes.append(
                    f"data={_shown(value)}: an uploaded file is not part of a link; upload it "
                    "again on the Data page"
                )
            else:
                notes.append(
                    f"data={_shown(value)}: there is no bundled data set of that name "
                    f"(showing {title})"
                )
        elif key in COLUMN_ROLES:
            notes.append(_column_reason(key, str(value), chosen, columns, numeric, title))
        elif key == METHOD:
            notes.append(f"method={_shown(value)}: the method is REML or ML")
        elif key in (RELATION2, RELATION3):
            if value in ("nested", "crossed"):
                notes.append(f"{key}={_shown(value)}: that grouping level is not chosen")
            else:
                notes.append(f"{key}={_shown(value)}: the relation is nested or crossed")
        else:
            notes.append(f"{key}={_shown(value)}: does not apply to this model or data")
    return notes


def _column_reason(
    key: str,
    value: str,
    chosen: dict[str, object],
    columns: tuple[str, ...],
    numeric: tuple[str, ...],
    title: str,
) -> str:
    start = f"{key}={_shown(value)}"
    if value not in columns:
        return f"{start}: there is no column of that name in {title}"
    if key in (OUTCOME, PREDICTOR) and value not in numeric:
        return f"{start}: that column is text, so it cannot be {COLUMN_ROLES[key]}"
    used = [COLUMN_ROLES[k] for k in COLUMN_ROLES if k != key and chosen.get(k) == value]
    if used:
        return f"{start}: that column is already {used[0]}"
    if key in (GROUP2, GROUP3):
        return f"{start}: the level above it is not chosen"
    return f"{start}: that column cannot be {COLUMN_ROLES[key]} here"


def note_ignored(chosen: dict[str, object], columns, numeric, title: str) -> None:  # noqa: ANN001
    """After the sidebar's first run: keep a note of every URL value it could not use."""
    asked = st.session_state.get(URL_ASKED) or {}
    notes = list(st.session_state.get(URL_IGNORED) or [])
    notes += ignored_reasons(asked, chosen, tuple(columns), tuple(numeric), title)
    st.session_state[URL_IGNORED] = notes


def dismiss_ignored() -> None:
    st.session_state[URL_IGNORED] = []


def encode_url_value(value: object) -> list[str]:
    """A widget value as URL strings (the formats bind="query-params" uses)."""
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, float):
        return [f"{value:g}"]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def keep(keys: tuple[str, ...]) -> None:
    """Re-assert widget values before drawing them, so they survive a page switch."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def write_url(values: dict[str, object], defaults: dict[str, object]) -> None:
    """Show ``values`` in the address bar, leaving out defaults; other params stay.

    Sends one update, and only when something changed.
    """
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    wanted = dict(current)
    for key, value in values.items():
        if value is None or value == defaults.get(key) or value == []:
            wanted.pop(key, None)
        else:
            wanted[key] = encode_url_value(value)
    # A link that waits for its upload keeps its data set and columns (issue 18), which
    # the default data cannot show, so that it can be copied again and they apply once
    # the file arrives (the toggles are the session's own, read from the link).
    pending = st.session_state.get(PENDING_LINK) or {}
    for key, value in pending.items():
        if key in values and key in PENDING_KEYS:
            wanted[key] = encode_url_value(value)
    if wanted != current:
        st.query_params.from_dict(wanted)


def dataset_options() -> list[str]:
    """Bundled data-set keys, plus the upload when this session has one, plus the shared
    link this session has open (only its own: no session can list another's links)."""
    options = list(BUNDLED)
    if st.session_state.get(UPLOAD) is not None:
        options.append(UPLOAD_OPTION)
    current = st.session_state.get(DATASET)
    if cache.shared_token(current) is not None:
        options.append(current)
    return options


def set_roles(roles: Roles) -> None:
    """Put column roles into the sidebar widgets (call before they are drawn, or in a callback)."""
    st.session_state[OUTCOME] = roles.outcome
    st.session_state[PREDICTOR] = roles.predictor
    st.session_state[GROUP] = roles.group
    st.session_state[COVARIATES] = list(roles.covariates)
    for k, (column_key, relation_key) in enumerate(LOWER_LEVEL_KEYS):
        level = roles.levels[k] if k < len(roles.levels) else None
        st.session_state[column_key] = level.column if level else ""
        st.session_state[relation_key] = level.relation if level else NESTED


def on_dataset_change() -> None:
    """Callback of the data-set selector: reset the roles to the new data's defaults."""
    st.session_state[PENDING_LINK] = None  # another data set chosen: the link is done
    st.session_state[FORMULA] = ""  # a typed formula and centring name the old data's columns
    st.session_state[FORMULA_EXTRAS] = None
    st.session_state[CENTRING] = []
    option = st.session_state.get(DATASET, DEFAULT_DATASET)
    try:
        upload = st.session_state.get(UPLOAD)
        frame = cache.frame_for(option, upload)
        set_roles(cache.default_roles(cache.source_id(option, upload), option, frame))
    except ExplorerError:
        # The sidebar shows the loading error on this run; keep the old roles.
        return


def accept_upload(name: str, content: bytes) -> str | None:
    """Make an uploaded file this session's active data set.

    Returns None on success, else the error message (also kept under
    ``UPLOAD_ERROR`` for the Data page). The bytes stay in this session only.
    """
    upload = UploadedTable.from_bytes(name, content)
    try:
        if big.is_big(upload):  # all rows for DuckDB, a sample for pandas (ui.big)
            frame = big.load(upload).data.sample
        else:
            frame = cache.load_upload(upload.digest, upload.name, upload.content)
        roles = guess_roles(frame)
    except ExplorerError as exc:
        message = str(exc) + big.excel_hint(upload)
        st.session_state[UPLOAD_ERROR] = message
        return message
    st.session_state[UPLOAD] = upload
    st.session_state[UPLOAD_ERROR] = None
    st.session_state[DATASET] = UPLOAD_OPTION
    set_roles(roles)
    apply_pending_link(frame)
    return None


def apply_pending_link(frame) -> None:  # noqa: ANN001 - the upload's frame (or sample)
    """Once the upload a link waited for arrives: use the link's columns where the file
    has them (the toggles are already the link's, or what the visitor set since); the
    link's message has done its job (issue 18)."""
    pending = st.session_state.get(PENDING_LINK)
    if not pending:
        return
    columns = {str(c) for c in frame.columns}
    for key, value in pending.items():
        if key == COVARIATES:
            st.session_state[key] = [v for v in value if v in columns]
        elif key in COLUMN_ROLES and (value in columns or value == ""):
            st.session_state[key] = value
        elif key in (RELATION2, RELATION3):
            st.session_state[key] = value
    st.session_state[PENDING_LINK] = None
    st.session_state[URL_IGNORED] = []


def on_upload_change() -> None:
    """Callback of the file uploader (clearing the uploader keeps the last good upload)."""
    uploaded = st.session_state.get(UPLOAD_WIDGET)
    if uploaded is None:
        return
    accept_upload(uploaded.name, uploaded.getvalue())


def remove_upload() -> None:
    """Forget this session's upload and go back to the default data set."""
    st.session_state[UPLOAD] = None
    st.session_state[UPLOAD_ERROR] = None
    if st.session_state.get(DATASET) == UPLOAD_OPTION:
        st.session_state[DATASET] = DEFAULT_DATASET
        on_dataset_change()


def apply_preset(name: str) -> None:
    """Callback of a tutorial-model button: set the model toggles (a preset's random slope
    is the predictor's alone)."""
    for key, value in PRESETS[name].items():
        st.session_state[key] = value
    st.session_state[SLOPES] = None
    st.session_state[FORMULA_EXTRAS] = None
    st.session_state[FORMULA] = ""  # a tutorial model is the whole model: no typed extras


def set_levels(group: str, levels: tuple[GroupLevel, ...]) -> None:
    """Callback that recodes the grouping levels (the Data and Model pages' nesting fix)."""
    st.session_state[GROUP] = group
    for k, (column_key, relation_key) in enumerate(LOWER_LEVEL_KEYS):
        level = levels[k] if k < len(levels) else None
        st.session_state[column_key] = level.column if level else ""
        st.session_state[relation_key] = level.relation if level else NESTED


def toggle_keys_for(column: str) -> tuple[str, str, str] | None:
    """The intercept, slope and correlation toggle keys of the level whose own column is
    ``column`` (a term's first grouping column), from this session's choices."""
    chosen = [st.session_state.get(GROUP)] + [
        st.session_state.get(column_key) for column_key, _ in LOWER_LEVEL_KEYS
    ]
    for k, value in enumerate(chosen):
        if value and value == column:
            return LEVEL_TOGGLE_KEYS[k]
    return None


def has_toggles(column: str) -> bool:
    """Whether the sidebar has random-effect toggles for the level whose column is ``column``
    (``lib.present.explain.singular`` offers a simpler model only then)."""
    return toggle_keys_for(column) is not None


def simplification_changes(offer: Simplification | None) -> dict[str, object]:
    """The toggles to switch off for ``lib.present.explain.singular``'s offer ({} for none).

    An offer without a column is for the model's one level: the first level's toggles.
    """
    if offer is None:
        return {}
    keys = LEVEL_TOGGLE_KEYS[0] if offer.column is None else toggle_keys_for(offer.column)
    if keys is None:
        return {}
    intercept_key, slope_key, correlation_key = keys
    key = {"intercept": intercept_key, "slope": slope_key}.get(offer.effect, correlation_key)
    return {key: False}


def apply_changes(changes: dict[str, object]) -> None:
    """Callback that sets several toggles at once (e.g. 'try the simpler model')."""
    for key, value in changes.items():
        st.session_state[key] = value
