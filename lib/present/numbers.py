"""Numbers as text, the one way the app, its explanations and its report write them.

P-values are written as R's ``format.pval(p, digits = 3)`` writes a single value, which
is what ``summary()`` of an lmerTest fit prints in its ``Pr(>|t|)`` column: three
significant digits with trailing zeros dropped (``0.0457``, ``0.5``, ``0.000316``),
scientific notation when that is shorter (``3.26e-06``, ``5e-05``), and ``< 2e-16``
below the machine epsilon. R formats a whole column at once (padding ``0.025087`` to
the decimals of ``0.000316``); here each value is written alone, so that a table, a
sentence and the report give the same number the same text.
"""

from __future__ import annotations

import math

import numpy as np

#: Columns of p-values (lme4's, lmerTest's and lm's labels), written by ``pval``.
P_COLUMNS = ("Pr(>|t|)", "Pr(>Chisq)", "p-value")
#: R's ``.Machine$double.eps``: smaller p-values print as ``< 2e-16``.
P_EPS = float(np.finfo(float).eps)
P_DIGITS = 3  # summary.merMod: digits = max(3, getOption("digits") - 3), minus 1 for tests


def fmt(value: object, decimals: int = 4) -> str:
    """A number as R prints it in summaries: fixed decimals, blank for NaN."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        x = float(value)
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return "Inf" if x > 0 else "-Inf"
        if x != 0 and abs(x) < 10 ** (-decimals):
            return f"{x:.{max(1, decimals - 1)}e}"
        return f"{x:,.{decimals}f}"
    return str(value)


def pval(value: object) -> str:
    """A p-value as R's ``format.pval(p, digits = 3)`` writes it; blank for NaN/None."""
    if value is None:
        return ""
    x = float(value)  # type: ignore[arg-type]
    if math.isnan(x):
        return ""
    if x < P_EPS:
        return "< 2e-16"
    if x == 0 or math.floor(math.log10(x)) >= -3:
        return f"{x:.{P_DIGITS}g}"  # fixed: %g keeps fixed notation down to 1e-4
    # R's formatReal: the fewest significant digits (at most 3) that show the value
    # rounded to 3, then fixed notation unless it is wider than scientific.
    sig = next(d for d in range(1, P_DIGITS + 1) if float(f"{x:.{d - 1}e}") == float(f"{x:.2e}"))
    scientific = f"{x:.{sig - 1}e}"
    exponent = int(scientific.split("e")[1])
    fixed = f"{x:.{sig - 1 - exponent}f}"
    return fixed if len(fixed) <= len(scientific) else scientific


def p_text(value: float) -> str:
    """A p-value in a sentence: ``p = 0.0457`` or ``p < 2e-16``."""
    text = pval(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def cell(value: object, column: object, decimals: int = 4) -> str:
    """One table cell as shown: p-value columns by ``pval``, other numbers by ``fmt``."""
    if column in P_COLUMNS and isinstance(value, float | np.floating | int | np.integer):
        return pval(value)
    return fmt(value, decimals)


def num(value: float, decimals: int = 3) -> str:
    """A number for a sentence: 3 decimals, thousands separators for big ones."""
    v = float(value)
    if not np.isfinite(v):
        return "undefined"
    return f"{v:,.1f}" if abs(v) >= 10_000 else f"{v:,.{decimals}f}"


def pct(value: float) -> str:
    return f"{100 * float(value):.1f}%"
