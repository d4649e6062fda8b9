"""CSV downloads that a spreadsheet opens as data, never as formulas.

OWASP's "CSV Injection" guidance: a cell that begins with ``=``, ``+``, ``-``,
``@``, a tab (0x09) or a carriage return (0x0D) may be run as a formula by
Excel or LibreOffice (``=cmd|' /C calc'!A0``). Such text cells are prefixed
with a single quote, which spreadsheets show as text, and the csv module
quotes any cell holding the separator or a quote. Numbers are left alone: a
numeric cell is written as a number (``-1.5`` stays -1.5), and so is a text
cell that is exactly a plain number, so that group labels such as ``-3`` stay
numbers in the spreadsheet. Column names and row labels get the same rule,
since column names and group labels come from uploaded files.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value: object) -> object:
    """A text value made safe for a spreadsheet; any other value unchanged.

    Parameters
    ----------
    value : object
        One cell, column name or row label.

    Returns
    -------
    object
        ``"'" + value`` for text that starts like a formula and is not a plain
        number, else ``value``.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell, column name and row label neutralised."""
    out = frame.copy()
    for k in range(out.shape[1]):
        column = out.iloc[:, k]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            out.isetitem(k, column.map(neutralise_cell, na_action="ignore").astype(object))
    out.columns = _safe_index(out.columns)
    out.index = _safe_index(out.index)
    return out


def _safe_index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.set_levels([_safe_index(level) for level in index.levels])
    if pd.api.types.is_numeric_dtype(index):
        return index
    return pd.Index(
        [neutralise_cell(v) for v in index], name=neutralise_cell(index.name), dtype=object
    )


def csv_bytes(frame: pd.DataFrame, index: bool = True) -> bytes:
    """The UTF-8 CSV of ``frame`` for a download, with formula-like text neutralised."""
    # RFC 4180's CRLF line ends: the csv writer quotes a cell holding any character of the
    # line terminator, so with "\n" alone a cell's carriage return went out unquoted and a
    # spreadsheet split the row there.
    return safe_frame(frame).to_csv(index=index, lineterminator="\r\n").encode("utf-8")
