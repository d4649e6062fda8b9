"""One-line readings of the diagnostics, built from the numbers (plain text; the caller
escapes user-supplied names for its medium)."""

from __future__ import annotations

import math

import pandas as pd

from lib.lmm.diagnostics import NORMAL_BEYOND_2, QQ, SF_RANGE, ResidualCheck
from lib.present.numbers import num, p_text, pct


def residuals_vs_fitted(check: ResidualCheck) -> str:
    """Share of scaled residuals beyond ±2 and whether the spread grows with the fit."""
    text = (
        f"{pct(check.beyond_2)} of the {check.n:,} scaled residuals lie beyond ±2 "
        f"(about {pct(NORMAL_BEYOND_2)} if the errors are normal)"
    )
    ratio = check.spread_ratio
    if math.isnan(ratio):
        return text + "."
    if 0.8 <= ratio <= 1.25:
        trend = "about the same, as the model assumes (one residual variance)"
    elif ratio > 1.25:
        trend = "larger: the spread grows with the fitted value (consider a transformation)"
    else:
        trend = "smaller: the spread shrinks as the fitted value grows"
    return (
        f"{text}; their SD above the median fitted value is {num(ratio, 2)} times that "
        f"below it, {trend}."
    )


def qq_reading(q: QQ, what: str) -> str:
    """How straight a QQ plot is: Shapiro-Francia W' and, where defined, its p-value."""
    if q.n < SF_RANGE[0]:
        return f"Only {q.n} {what}: too few to judge normality; the plot shows where each lies."
    if math.isnan(q.w):
        return f"All {q.n:,} {what} are equal: there is no distribution to check."
    stat = f"Shapiro-Francia W′ = {num(q.w)}"
    if math.isnan(q.p):
        return (
            f"{stat} for {q.n:,} {what} (no p-value above {SF_RANGE[1]:,} values: any tiny "
            "departure would be significant); judge the bend of the points, not a test."
        )
    if q.p >= 0.05:
        return (
            f"The points follow the line ({stat}, {p_text(q.p)}): no evidence against normal "
            f"{what}."
        )
    skew = float(pd.Series(q.sample).skew())
    if abs(skew) >= 0.5:
        shape = "a longer right tail" if skew > 0 else "a longer left tail"
    else:
        shape = "heavier or lighter tails than a normal distribution"
    return f"The points bend away from the line ({stat}, {p_text(q.p)}): the {what} have {shape}."


def group_spread_reading(spreads: pd.DataFrame) -> str:
    """Smallest and largest per-group SD of the scaled residuals among the groups shown."""
    sd = spreads["sd"].dropna()
    if len(sd) < 2:
        return "One group: nothing to compare."
    lo, hi = sd.idxmin(), sd.idxmax()
    ratio = float(sd.max() / sd.min()) if sd.min() > 0 else float("inf")
    verdict = (
        "similar spreads, as one residual variance assumes"
        if ratio < 2
        else "the spread differs between groups"
    )
    return (
        f"The SD of the scaled residuals runs from {num(sd.min(), 2)} ({lo}) to "
        f"{num(sd.max(), 2)} ({hi}) across the {len(sd)} groups shown: {verdict}."
    )
