"""Data shared through a link: the sidebar's view of it and the Data page's share box.

A teacher ticks "Share this data with everyone who has the link" under an upload; the
parsed table goes to the server's share store (``ui.serve.share_store``) under an
unguessable token and the session's data set becomes ``shared:TOKEN``, so the address
bar is the link (with the roles, the model and the page). Whoever opens it gets the
same table; the teacher's session keeps the receipt (with the secret that withdraws
the link) in ``st.session_state``. Nothing is shared unless that box is ticked.

The teacher also gets a private *manage link*: the class's link plus
``manage=SECRET`` (the owner secret). Opening it, after a reload or in another browser,
gives that session the uploader's rights back ("Stop sharing"); the parameter is taken
out of the address bar at once, so the address bar, like every link the app shows for
the class, never carries it.

The token is never shown as a name: the data-set selector shows the file's name, and
messages about a link say ``data=shared:…``. Every run checks the link (one indexed
query), so a withdrawn or expired link stops opening at the students' next rerun and
says why; the page falls back to the default data set and stays usable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

import streamlit as st

from lib.aggregate.upload import big_upload_bytes
from lib.errors import ExplorerError
from lib.present.markdown import md
from lib.serve.shared_table import SharedMeta
from lib.table.catalogue import DEFAULT_DATASET
from lib.table.roles import Roles
from ui import big, cache, row_limit, serve, state

MANAGE_PARAM = "manage"  # the manage link's parameter: the owner secret


def day(seconds: float) -> str:
    """A date for people, as the store's messages write it (UTC): "6 December 2026"."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return f"{moment.day} {moment:%B %Y}"


def check_link() -> SharedMeta | None:
    """The metadata of this session's shared data set, or None if it has none.

    A link that no longer opens (withdrawn, expired, unknown or malformed) is noted
    with the store's message, and the session falls back to the default data set
    with its roles (the link's column names would only add notes about that data).
    """
    secret = st.query_params.get(MANAGE_PARAM)
    if secret is not None:  # out of the address bar before anything can copy it
        del st.query_params[MANAGE_PARAM]
    option = st.session_state.get(state.DATASET)
    if cache.shared_token(option) is None:
        return None
    try:
        meta = cache.shared_meta(option)
        if secret is not None:
            _claim(cache.shared_token(option), secret)
        return meta
    except ExplorerError as exc:
        message = str(exc)
    notes = list(st.session_state.get(state.URL_IGNORED) or [])
    notes.append(f"data=shared:…: {message}")  # never the token
    st.session_state[state.URL_IGNORED] = notes
    asked = st.session_state.get(state.URL_ASKED) or {}
    st.session_state[state.URL_ASKED] = {
        k: v for k, v in asked.items() if k not in state.COLUMN_ROLES
    }
    st.session_state[state.DATASET] = DEFAULT_DATASET
    state.on_dataset_change()
    return None


def _claim(token: str, secret: str) -> None:
    """A manage link: this session holds the link's owner rights from now on."""
    try:
        receipt = serve.share_store().claim(token, secret)
    except ExplorerError as exc:  # a wrong secret: the data still opens, read-only
        notes = list(st.session_state.get(state.URL_IGNORED) or [])
        notes.append(f"{MANAGE_PARAM}=…: {exc}")  # never the secret
        st.session_state[state.URL_IGNORED] = notes
        return
    st.session_state.setdefault(state.OWNED_LINKS, {})[token] = receipt


def owned_receipt(option: object):  # noqa: ANN201 - ShareReceipt | None
    """The receipt of the shared ``option`` if this session may stop sharing it: it
    shared it from its upload, or it opened the link's manage link."""
    token = cache.shared_token(option)
    if token is None:
        return None
    receipts = st.session_state.get(state.SHARE_RECEIPTS) or {}
    mine = next((r for r in receipts.values() if r.token == token), None)
    return mine or (st.session_state.get(state.OWNED_LINKS) or {}).get(token)


def option_label(shared: SharedMeta | None) -> Callable[[str], str]:
    """The selector's ``format_func``: a shared option shows its file's name."""

    def label(option: str) -> str:
        if cache.shared_token(option) is None:
            return option
        return f"{shared.name} (shared link)" if shared is not None else "shared data"

    return label


def caption(shared: SharedMeta) -> str:
    """Draw the selector's caption for a shared data set; return its title."""
    st.caption(
        f"Shared file: {md(shared.name)} (anyone with the link can open it until "
        f"{day(shared.expires_at)})"
    )
    return f"Shared file {shared.name}"


# ----- the Data page's share box --------------------------------------------------------


def receipt_of(upload: object | None):  # noqa: ANN201 - ShareReceipt | None
    receipts = st.session_state.get(state.SHARE_RECEIPTS) or {}
    return receipts.get(getattr(upload, "digest", None))


def share_changed(roles: Roles | None) -> None:
    """Callback of the share checkbox: share this session's upload, or stop sharing it."""
    if not st.session_state.get(state.SHARE_WIDGET):
        stop_sharing()
        return
    upload = st.session_state.get(state.UPLOAD)
    if upload is None:
        return
    receipts = st.session_state.setdefault(state.SHARE_RECEIPTS, {})
    receipt = receipts.get(upload.digest)
    store = serve.share_store()
    if receipt is not None:
        try:
            store.meta(receipt.token)
        except ExplorerError:  # expired meanwhile: share again under a new link
            receipt = None
    if receipt is None:
        earlier = next(iter(receipts.values()), None)  # one owner secret per session
        try:
            frame = cache.frame_for(state.UPLOAD_OPTION, upload)
            receipt = store.share(
                frame,
                name=upload.name,
                roles=roles,
                owner_secret=earlier.owner_secret if earlier else None,
            )
        except ExplorerError as exc:
            st.session_state[state.SHARE_ERROR] = str(exc)
            st.session_state[state.SHARE_WIDGET] = False
            return
        receipts[upload.digest] = receipt
    st.session_state[state.SHARE_ERROR] = None
    st.session_state[state.DATASET] = state.SHARED_PREFIX + receipt.token


def stop_sharing() -> None:
    """Withdraw this session's link to its upload (or, after a manage link, to the data
    set it shows): the data is deleted from the server and the link says it was
    withdrawn. The session goes on with its upload, or with the default data set."""
    upload = st.session_state.get(state.UPLOAD)
    receipts = st.session_state.get(state.SHARE_RECEIPTS) or {}
    receipt = receipts.pop(getattr(upload, "digest", None), None)
    st.session_state[state.SHARE_WIDGET] = False
    if receipt is None:
        option = st.session_state.get(state.DATASET)
        receipt = (st.session_state.get(state.OWNED_LINKS) or {}).get(cache.shared_token(option))
        if receipt is None:
            return
        _withdraw(receipt)
        st.session_state[state.DATASET] = DEFAULT_DATASET
        state.on_dataset_change()
        st.toast("Sharing stopped: the link now says the data was withdrawn.")
        return
    _withdraw(receipt)
    if st.session_state.get(state.DATASET) == state.SHARED_PREFIX + receipt.token:
        st.session_state[state.DATASET] = state.UPLOAD_OPTION  # same table, same roles


def _withdraw(receipt) -> None:  # noqa: ANN001 - ShareReceipt
    try:
        serve.share_store().withdraw(receipt.token, receipt.owner_secret)
    except ExplorerError:
        pass  # already ended: nothing left to withdraw
    cache.forget_link(receipt.token)
    (st.session_state.get(state.OWNED_LINKS) or {}).pop(receipt.token, None)


def share_box(option: str, roles: Roles | None) -> None:
    """Under "Your own data": the share checkbox, and the link while it is shared."""
    upload = st.session_state.get(state.UPLOAD)
    if upload is None:
        return
    if big.is_big(upload):
        st.info(big_share_limit(), icon=":material/link_off:")
        return
    receipt = receipt_of(upload)
    own = option == state.UPLOAD_OPTION or (
        receipt is not None and option == state.SHARED_PREFIX + receipt.token
    )
    st.session_state[state.SHARE_WIDGET] = receipt is not None
    days = serve.share_store().ttl_seconds / 86400
    st.checkbox(
        "Share this data with everyone who has the link",
        key=state.SHARE_WIDGET,
        on_change=share_changed,
        args=(roles if own else None,),
        help=f"The table is stored on this server for {days:g} days (or until you stop "
        "sharing) and opens for anyone with the link: do not share personal data.",
    )
    error = st.session_state.get(state.SHARE_ERROR)
    if error:
        st.error(md(error), icon=":material/error:")
    if receipt is None:
        st.caption(
            "Not shared: the file stays in this browser session, and a link to it asks the "
            f"visitor to upload it again. Shared, anyone with the link can open the table "
            f"for {days:g} days: do not share personal data."
        )
        return
    owner_panel(receipt)


def shared_note(option: str) -> None:
    """At the top of "Your own data" on a shared link: the owner's panel for a session
    that opened the link's manage link, whose data this is for anyone else (the session
    that shared it from its upload finds the panel under the upload)."""
    receipt = owned_receipt(option)
    if receipt is None:
        viewer_note(cache.shared_meta(option))  # opened someone's link
    elif receipt_of(st.session_state.get(state.UPLOAD)) is not receipt:
        owner_panel(receipt)


def owner_panel(receipt) -> None:  # noqa: ANN001 - ShareReceipt
    """The class's link, the private manage link and the Stop sharing button."""
    st.success(
        f"Shared until {day(receipt.expires_at)}. Everyone who opens this link sees this "
        "table, with the columns, the model and the page in the link:",
        icon=":material/link:",
    )
    st.code(link_to(state.SHARED_PREFIX + receipt.token), language=None, wrap_lines=True)
    st.caption(
        "The address bar is this link too, on every page: copy it there to share the page "
        "you are on. Anyone with the link can open the table until you stop sharing."
    )
    st.markdown(
        "**Your manage link**, for you only (never give it to the class): after a reload "
        "or in another browser, open it to get the Stop sharing button back."
    )
    st.code(manage_link(receipt), language=None, wrap_lines=True)
    st.button(
        "Stop sharing",
        key="_stop_sharing",
        on_click=stop_sharing,
        icon=":material/link_off:",
        help="Deletes the shared table from the server; the link then says it was withdrawn.",
    )


def big_share_limit() -> str:
    """Why a large upload has no share box, with the limits that would make it shareable.

    A large upload lives in DuckDB's reach in this process only (``ui.big``); every
    page's large-data path starts from the session's upload. Links share tables that
    pandas reads (the share store's Parquet), so a large file is not shared: the page
    says so with the numbers, rather than offering a box that would fail.
    """
    megabytes = big_upload_bytes() / 1024**2  # as the uploader's help writes it
    rows = row_limit.pandas_row_limit()
    cap = serve.share_store().max_table_bytes / 1024**2
    return (
        f"**This file cannot be shared through a link**: files over {megabytes:,.3g} MB "
        f"(CSV or Parquet) or with more than {rows:,} rows are read by DuckDB and stay in "
        f"this browser session. To share data with the class, upload an extract of at most "
        f"{rows:,} rows and {megabytes:,.3g} MB, then tick Share (shared tables are kept up "
        f"to {cap:,.3g} MiB as Parquet)."
    )


def link_to(option: str, **extra: str) -> str:
    """This page's address with ``data=option`` and the other choices in the URL (never
    a manage secret unless it is passed in ``extra``)."""
    params = {k: st.query_params.get_all(k) for k in st.query_params if k != MANAGE_PARAM}
    params[state.DATASET] = [option]
    params.update({k: [v] for k, v in extra.items()})
    base = st.context.url or ""
    return f"{base}?{urlencode(params, doseq=True, safe=':')}"


def manage_link(receipt) -> str:  # noqa: ANN001 - ShareReceipt
    """The class's link plus the owner secret: it gives a session the uploader's rights."""
    return link_to(state.SHARED_PREFIX + receipt.token, **{MANAGE_PARAM: receipt.owner_secret})


def viewer_note(shared: SharedMeta) -> None:
    """For a session that opened someone's shared link (the Data page)."""
    st.info(
        f"You are looking at **{md(shared.name)}**, shared through a link: "
        f"{shared.n_rows:,} rows, {shared.n_columns} columns, available until "
        f"{day(shared.expires_at)}. Everyone with the link sees the same table.",
        icon=":material/link:",
    )
