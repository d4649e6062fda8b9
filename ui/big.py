"""Large uploads in the app: read once into DuckDB's reach, summarised with progress.

An upload above ``lib.aggregate.upload.big_upload_bytes()`` (CSV/TSV/TXT/Parquet)
is read by ``lib.aggregate.upload.read_upload``: all rows stay in an Arrow table
that DuckDB queries, and the pages get a random sample as their ``sel.frame``.
Counts, histograms, group means, the validation report and the Model page's fit
run over every row here; each is computed once per upload and arguments.

Caching follows ``ui.cache``'s rule: the key is the SHA-256 of the upload's bytes,
so another session reaches an entry only by uploading the same bytes, and then
the entry is the same. ``st.cache_resource`` holds one store per digest (the table
is shared, not copied per rerun); its lock serialises the work on one upload, and
every use opens its own DuckDB connection (``BigUpload.engine``), so concurrent
reruns never share a connection. The progress bars are drawn outside the cached
function (Streamlit replays elements drawn inside one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from lib.aggregate import overview, summaries
from lib.aggregate import upload as lib_upload
from lib.aggregate.sample_fit import with_sample_rows
from lib.aggregate.sqlfit import fit_engine
from lib.aggregate.upload import BigUpload
from lib.explore import groups as lib_groups
from lib.lmm import LmmFit
from lib.model.spec import ModelSpec
from lib.table.roles import Roles
from lib.table.validate import ValidationReport
from ui import row_limit, turn

MEMO_ENTRIES = 64  # results kept per upload (histograms, fits...)


class _Store:
    """One upload's table and results (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: BigUpload | None = None
        self.memo: OrderedDict[tuple, object] = OrderedDict()


@st.cache_resource(max_entries=3, ttl=3600, show_spinner=False)
def _store(digest: str) -> _Store:
    return _Store()


@dataclass(frozen=True, eq=False)
class Big:
    """What a page knows of this session's large upload: its digest and its data."""

    digest: str
    data: BigUpload

    @property
    def n_rows(self) -> int:
        return self.data.n_rows

    @property
    def sample_size(self) -> int:
        return len(self.data.sample)


def is_big(upload: object | None) -> bool:
    """Whether an upload (``ui.state.UploadedTable``) is read through DuckDB: above the
    size threshold, or with more rows than pandas may hold in the app."""
    if upload is None:
        return False
    if lib_upload.is_big(len(upload.content), upload.name):  # type: ignore[attr-defined]
        return True
    limit = row_limit.pandas_row_limit()
    return _many_rows(upload.digest, upload.name, limit, upload.content)  # type: ignore[attr-defined]


@st.cache_data(max_entries=64, show_spinner=False)
def _many_rows(digest: str, name: str, limit: int, _content: bytes) -> bool:
    # Keyed by the bytes' digest (ui.cache's rule); counting line breaks in a 50 MB
    # file takes ~30 ms, so once per upload, not on every call of every rerun.
    return lib_upload.more_rows_than(_content, name, limit)


def excel_hint(upload: object) -> str:
    """For an Excel file above the large-upload size: why it still has the row limit."""
    name = str(getattr(upload, "name", ""))
    size = len(getattr(upload, "content", b""))
    if not name.lower().endswith(".xlsx") or size <= lib_upload.big_upload_bytes():
        return ""
    return (
        f" Excel files are read by pandas, with the limit of {row_limit.pandas_row_limit():,} "
        "rows; save the "
        f"sheet as CSV (or Parquet) to use files over "
        f"{lib_upload.big_upload_bytes() / 1024**2:,.3g} MB without a row limit."
    )


def sample_rows() -> int:
    """Rows of the pandas sample: ``SAMPLE_ROWS``, or the app's row cap if lower."""
    return min(lib_upload.SAMPLE_ROWS, row_limit.pandas_row_limit())


def with_progress(label: str, work: Callable[[Callable[[float, str], None]], object]) -> object:
    """``work(progress)`` with a progress bar that is removed when it returns."""
    slot = st.empty()

    def progress(fraction: float, text: str) -> None:
        slot.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label}: {text}")

    try:
        progress(0.0, "starting")
        # DuckDB works outside the GIL for seconds: the other pages run meanwhile (ui.turn).
        with turn.out_of_turn():
            return work(progress)
    finally:
        slot.empty()


def load(upload: object) -> Big:
    """This upload's table and sample, read on first use (with a progress bar).

    Raises
    ------
    DataError
        The file cannot be read (the same messages as ``lib.table.read.load_table``).
    """
    digest, name, content = upload.digest, upload.name, upload.content  # type: ignore[attr-defined]
    store = _store(digest)
    with store.lock, turn.holding_lock():
        if store.data is None:
            store.data = with_progress(
                f"Reading {name}",
                lambda progress: lib_upload.read_upload(
                    content, name, sample_rows=sample_rows(), progress=progress
                ),
            )
        return Big(digest=digest, data=store.data)


def _memo(big: Big, key: tuple, label: str, work: Callable) -> object:
    """``work(progress)`` computed once per upload and ``key`` (progress shown on a miss)."""
    store = _store(big.digest)
    with store.lock, turn.holding_lock():
        if key in store.memo:
            store.memo.move_to_end(key)
            return store.memo[key]
        value = with_progress(label, work)
        store.memo[key] = value
        while len(store.memo) > MEMO_ENTRIES:
            store.memo.popitem(last=False)
        return value


def rows_label(big: Big) -> str:
    return f"{big.n_rows:,} rows"


def group_summary(big: Big, outcome: str, group: str) -> lib_groups.GroupSummary:
    return _memo(  # type: ignore[return-value]
        big,
        ("group_summary", outcome, group),
        f"Group means of {outcome} over {rows_label(big)}",
        lambda progress: summaries.group_summary(big.data.engine(), outcome, group, progress),
    )


def histogram(
    big: Big, column: str, group: str | None, binwidth: float | None
) -> lib_groups.Histogram:
    return _memo(  # type: ignore[return-value]
        big,
        ("histogram", column, group, binwidth),
        f"Counting {column} into bins over {rows_label(big)}",
        lambda progress: summaries.histogram(
            big.data.engine(), column, group, binwidth, progress=progress
        ),
    )


def value_range(big: Big, column: str) -> tuple[float, float]:
    return _memo(  # type: ignore[return-value]
        big,
        ("range", column),
        f"Range of {column}",
        lambda progress: overview.value_range(big.data.engine(), column),
    )


def validate(big: Big, roles: Roles) -> ValidationReport:
    return _memo(  # type: ignore[return-value]
        big,
        ("validate", roles),
        f"Checking the roles over {rows_label(big)}",
        lambda progress: overview.validate(big.data.engine(), roles, big.data.sample),
    )


def column_overview(big: Big):  # noqa: ANN201 - DataFrame
    return _memo(
        big,
        ("overview",),
        f"Counting missing and distinct values over {rows_label(big)}",
        lambda progress: overview.overview(big.data.engine(), big.data.sample),
    )


def fit(big: Big, spec: ModelSpec) -> LmmFit:
    """The fit of ``spec`` to every row (DuckDB), once per upload and spec."""
    return _memo(  # type: ignore[return-value]
        big,
        ("fit", repr(spec)),
        f"Fitting the model to {rows_label(big)} in DuckDB",
        lambda progress: fit_engine(big.data.engine(), spec),
    )


def fit_with_sample_rows(big: Big, fit_all: LmmFit) -> LmmFit:
    """The full fit with fitted values and residuals at the sample's rows (for the
    residual plots)."""
    return _memo(  # type: ignore[return-value]
        big,
        ("fit_rows", repr(fit_all.spec)),
        "Residuals at the sampled rows",
        lambda progress: with_sample_rows(fit_all, big.data.sample),
    )


def factor_sizes(big: Big, columns: tuple[str, ...]):  # noqa: ANN201 - DataFrame
    return _memo(
        big,
        ("factor_sizes", columns),
        f"Counting groups over {rows_label(big)}",
        lambda progress: overview.factor_sizes(big.data.engine(), list(columns)),
    )


def level_rows(big: Big, spec: ModelSpec):  # noqa: ANN201 - DataFrame
    """One row per combination of the spec's grouping levels among its complete rows."""
    return _memo(
        big,
        ("level_rows", repr(spec)),
        "Finding the groups",
        lambda progress: overview.level_rows(big.data.engine(), spec),
    )


def sample_words(big: Big) -> str:
    """'a random sample of 100,000 of 6,012,345 rows' (or 'all 80,000 rows')."""
    if not big.data.sampled:
        return f"all {big.n_rows:,} rows"
    return f"a random sample of {big.sample_size:,} of {big.n_rows:,} rows"


def note(sel: object, text: str) -> None:
    """A one-line note on a page of a large upload (nothing for other data)."""
    big = getattr(sel, "big", None)
    if big is not None:
        st.caption(":material/database: " + text.replace("{sample}", sample_words(big)))
