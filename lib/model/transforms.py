"""Columns a formula computes: ``log(x)``, ``log2``, ``log10``, ``sqrt``, ``exp``,
``scale(x)`` and ``I(x^k)``, by our own code (nothing is evaluated).

``lib.model.formula`` reads a call of one of these functions on one column (plain or
in backticks) as a column whose name is the expression as R deparses it (``log(x)``,
``I(x^2)``, ``scale(`my col`)``): that is also the name of R's coefficient, so tables
match lme4's. ``with_derived`` adds such columns to a frame, computed from the source
column as R computes them when ``lme4::lFormula`` builds the model frame:

* ``log``, ``log2``, ``log10``, ``sqrt``, ``exp``: elementwise. A value R would turn into
  NaN or an infinity (log of 0 or of a negative number, sqrt of a negative number, exp
  overflowing) is refused with a message naming the value, where lme4 would stop at the
  model frame ("NA/NaN/Inf in 'x'") or silently drop the row (NaN is missing in R);
* ``scale(x)``: (x - mean) / sd over every row where x is present (R evaluates the
  expression on the whole data before dropping incomplete rows, and ``scale`` drops
  missing values: ``colMeans(x, na.rm = TRUE)``, ``sd`` with n - 1);
* ``I(x^k)``: x to the power k, a whole number from 1 to 10.

A column whose own name reads like one of these (a column literally named ``log(x)``)
is used as it is. The reference is tests/reference/transforms_reference.R.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.model.formula_tokens import tokenize
from lib.model.spec import DERIVED
from lib.table.columns import is_numeric_column, missing_column_message

FUNCTIONS = ("log", "log2", "log10", "sqrt", "exp", "scale")
MAX_POWER = 10


def source(name: str) -> tuple[str, str, int] | None:
    """``(function, column, power)`` of a computed column's name, else None.

    ``I(x^2)`` gives ``("I", "x", 2)``; the others have power 1.
    """
    match = DERIVED.fullmatch(name)
    if match is None:
        return None
    function, argument, power_argument, power = match.groups()
    text = argument if function else power_argument
    tokens = tokenize(text)  # unescapes a backticked name as R does
    column = tokens[0].text
    return (function or "I", column, int(power) if power else 1)


def _values(frame: pd.DataFrame, name: str, column: str) -> np.ndarray:
    if column not in frame.columns:
        raise DataError(missing_column_message(column, [str(c) for c in frame.columns]))
    series = frame[column]
    if not is_numeric_column(series):
        raise DataError(f"{name} needs numbers, but column '{column}' holds text.")
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _refuse(name: str, x: np.ndarray, bad: np.ndarray, why: str) -> None:
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name} is not defined for {int(bad.sum())} row(s) ({why}; the first is "
            f"{x[first]:g} in row {first + 1}). Drop those rows or use another transform."
        )


def derive(frame: pd.DataFrame, name: str) -> np.ndarray:
    """The values of the computed column ``name`` (module docstring); missing stays NaN."""
    found = source(name)
    if found is None:
        raise DataError(f"'{name}' is not a column and not a transform this app computes.")
    function, column, power = found
    x = _values(frame, name, column)
    present = np.isfinite(x)
    with np.errstate(all="ignore"):
        if function == "I":
            if not 1 <= power <= MAX_POWER:
                raise DataError(f"{name}: the power must be a whole number from 1 to {MAX_POWER}.")
            out = x**power
        elif function == "scale":
            used = x[present]
            if used.size < 2 or np.std(used) == 0:
                raise DataError(f"{name} needs at least two different values of '{column}'.")
            out = (x - used.mean()) / np.std(used, ddof=1)
        elif function == "sqrt":
            _refuse(name, x, present & (x < 0), "negative values")
            out = np.sqrt(x)
        elif function == "exp":
            out = np.exp(x)
            _refuse(name, x, present & ~np.isfinite(out), "the result overflows")
        else:
            _refuse(name, x, present & (x <= 0), "zero or negative values")
            out = {"log": np.log, "log2": np.log2, "log10": np.log10}[function](x)
    _refuse(name, x, present & ~np.isfinite(out), "the result overflows")
    return out


def derived_names(frame: pd.DataFrame, names: Iterable[str]) -> tuple[str, ...]:
    """The names among ``names`` that ``with_derived`` would compute (not already columns)."""
    have = {str(c) for c in frame.columns}
    return tuple(n for n in dict.fromkeys(names) if n not in have and source(n) is not None)


def with_derived(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """``frame`` with the computed columns among ``names`` added (the frame itself when
    there are none; else a shallow copy, the caller's frame is not changed)."""
    wanted = derived_names(frame, names)
    if not wanted:
        return frame
    out = frame.copy(deep=False)
    for name in wanted:
        out[name] = derive(frame, name)
    return out
