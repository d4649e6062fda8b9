"""The app's row cap for uploads read by pandas (``EXPLORER_MAX_ROWS``).

Its own module because both ``ui.cache`` (which reads uploads through pandas) and
``ui.big`` (which sends uploads with more rows to DuckDB) need it, and ``ui.cache``
imports ``ui.big``.
"""

from __future__ import annotations

import os

from lib.table.read import MAX_ROWS


def _app_max_rows() -> int | None:
    """Row cap for uploads in the app: ``EXPLORER_MAX_ROWS`` in the environment, else
    lib's limit. One server core is shared by every session (a fit of 10^6 rows takes
    the engine ~0.3 s but the page's other work several times that), so a class server
    may want it lower."""
    raw = os.environ.get("EXPLORER_MAX_ROWS", "")
    return int(raw) if raw.strip().isdigit() and int(raw) > 0 else None


APP_MAX_ROWS: int | None = _app_max_rows()  # None: lib.table.read.MAX_ROWS


def pandas_row_limit() -> int:
    """The most rows an upload read by pandas may have (read at call time)."""
    return APP_MAX_ROWS or MAX_ROWS
