"""Numbers as text, the one way the app, its explanations and its report write them."""

from __future__ import annotations

import math

import numpy as np


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


def num(value: float, decimals: int = 3) -> str:
    """A number for a sentence: 3 decimals, thousands separators for big ones."""
    v = float(value)
    if not np.isfinite(v):
        return "undefined"
    return f"{v:,.1f}" if abs(v) >= 10_000 else f"{v:,.{decimals}f}"


def pct(value: float) -> str:
    return f"{100 * float(value):.1f}%"
