"""Assumption checks of a fitted mixed model, as lme4's ``plot()`` and ``qqmath()`` draw them.

Three looks, each with numbers a sentence can be built from:

* residuals against fitted values (overall and per group): the share of scaled
  residuals beyond ±2 (about 4.6% for normal errors, 2 (1 - Phi(2))) and the ratio
  of the residual SD in the upper half of fitted values to that in the lower half
  (about 1 when the spread does not grow with the fitted value);
* a normal QQ plot of the scaled residuals (residual / sigma, as ``summary()``
  scales them);
* a normal QQ plot of each random effect's conditional modes, per grouping factor
  (lme4's ``qqmath(ranef(fit))``).

QQ plots use R's ``qqnorm`` plotting positions, ``ppoints``:
(i - a) / (n + 1 - 2a) with a = 3/8 for n <= 10 and 1/2 otherwise, and R's
``qqline`` through the first and third quartiles. Their straightness is measured
by the Shapiro-Francia statistic W' = cor(x_(i), qnorm(ppoints(n, a = 3/8)))^2
(Shapiro & Francia 1972) with Royston's (1993) normal approximation for its
p-value, valid for 5 <= n <= 5000, exactly as R's ``nortest::sf.test``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from lib.table.columns import complete_rows

NORMAL_BEYOND_2 = float(2.0 * special.ndtr(-2.0))  # 0.0455: share of |z| > 2 if normal
SF_RANGE = (5, 5000)  # sf.test's range of n


def ppoints(n: int, a: float | None = None) -> np.ndarray:
    """R's ``ppoints(n)``: (i - a) / (n + 1 - 2a), a = 3/8 if n <= 10 else 1/2."""
    if n < 1:
        return np.zeros(0)
    if a is None:
        a = 3.0 / 8.0 if n <= 10 else 0.5
    i = np.arange(1, n + 1, dtype=float)
    return (i - a) / (n + 1 - 2 * a)


@dataclass(frozen=True, eq=False)
class QQ:
    """A normal QQ plot's points, its reference line and how straight it is.

    Attributes
    ----------
    theoretical : ndarray (n,)
        ``qnorm(ppoints(n))``.
    sample : ndarray (n,)
        The values, sorted.
    order : ndarray (n,)
        Index of each sorted value in the input (to label the points).
    line_intercept, line_slope : float
        R's ``qqline``: through the (type-7) first and third quartiles.
    w : float
        Shapiro-Francia W' (1 = perfectly straight); NaN for n < 3 or constant values.
    p : float
        Its p-value (Royston 1993), NaN outside 5 <= n <= 5000.
    """

    theoretical: np.ndarray
    sample: np.ndarray
    order: np.ndarray
    line_intercept: float
    line_slope: float
    w: float
    p: float

    @property
    def n(self) -> int:
        return int(self.sample.size)


def shapiro_francia(values: Sequence[float]) -> tuple[float, float]:
    """(W', p) as ``nortest::sf.test``; p is NaN outside 5 <= n <= 5000."""
    x = np.sort(np.asarray(values, float))
    n = x.size
    if n < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan")
    # W' does not depend on location or scale; centring and scaling first keeps
    # corrcoef's squares finite for values near 1e-155 (a random effect of a fit on
    # the boundary) or 1e+155.
    x = (x - x[n // 2]) / np.ptp(x)
    y = special.ndtri(ppoints(n, 3.0 / 8.0))
    w = float(np.corrcoef(x, y)[0, 1] ** 2)
    if not SF_RANGE[0] <= n <= SF_RANGE[1]:
        return w, float("nan")
    u, v = np.log(n), np.log(np.log(n))
    mu = -1.2725 + 1.0521 * (v - u)
    sigma = 1.0308 - 0.26758 * (v + 2.0 / u)
    z = (np.log(1.0 - w) - mu) / sigma if w < 1 else -np.inf
    return w, float(special.ndtr(-z))


def qq(values: Sequence[float]) -> QQ:
    """Normal QQ plot of ``values`` (non-finite values dropped)."""
    x = np.asarray(values, float)
    keep = np.flatnonzero(np.isfinite(x))
    order = keep[np.argsort(x[keep], kind="stable")]
    sample = x[order]
    n = sample.size
    theoretical = special.ndtri(ppoints(n))
    if n >= 2:
        q1, q3 = np.quantile(sample, [0.25, 0.75])  # R's quantile type 7
        z1, z3 = special.ndtri([0.25, 0.75])
        slope = float((q3 - q1) / (z3 - z1))
        intercept = float(q1 - slope * z1)
    else:
        slope, intercept = float("nan"), float("nan")
    w, p = shapiro_francia(sample)
    return QQ(theoretical, sample, order, intercept, slope, w, p)


@dataclass(frozen=True, eq=False)
class ResidualCheck:
    """Numbers behind the residuals-vs-fitted reading.

    Attributes
    ----------
    n : int
    beyond_2 : float
        Share of scaled residuals with |r| > 2 (normal errors: ``NORMAL_BEYOND_2``).
    spread_ratio : float
        SD of the scaled residuals whose fitted value is above the median fitted value,
        divided by the SD of those below (NaN when either half has < 2 rows).
    """

    n: int
    beyond_2: float
    spread_ratio: float


def residual_check(fitted: np.ndarray, scaled: np.ndarray) -> ResidualCheck:
    """Share beyond ±2 and the upper/lower spread ratio of scaled residuals."""
    fitted = np.asarray(fitted, float)
    scaled = np.asarray(scaled, float)
    n = scaled.size
    beyond = float(np.mean(np.abs(scaled) > 2.0)) if n else float("nan")
    median = np.median(fitted) if n else 0.0
    upper, lower = scaled[fitted > median], scaled[fitted <= median]
    if upper.size < 2 or lower.size < 2 or np.std(lower, ddof=1) == 0:
        ratio = float("nan")
    else:
        ratio = float(np.std(upper, ddof=1) / np.std(lower, ddof=1))
    return ResidualCheck(n=n, beyond_2=beyond, spread_ratio=ratio)


@dataclass(frozen=True, eq=False)
class RanefQQ:
    """QQ plot of one random effect of one grouping factor."""

    group: str
    effect: str
    levels: tuple[str, ...]
    qq: QQ


@dataclass(frozen=True, eq=False)
class Diagnostics:
    """Everything the diagnostics section draws.

    Attributes
    ----------
    fitted, scaled : ndarray (n,)
        Fitted values and residuals / sigma, in the fit's row order.
    check : ResidualCheck
    residual_qq : QQ
    ranef : tuple of RanefQQ
        One per grouping factor and random effect, in ``fit.ranef`` order.
    """

    fitted: np.ndarray
    scaled: np.ndarray
    check: ResidualCheck
    residual_qq: QQ
    ranef: tuple[RanefQQ, ...]


def diagnose(fit: object) -> Diagnostics | None:
    """The diagnostics of a fit; None when it holds no per-row values (fitted from
    aggregates, ``lib.lmm.fit.fit_stats``)."""
    if fit.fitted is None or fit.residuals is None:  # type: ignore[attr-defined]
        return None
    fitted = np.asarray(fit.fitted, float)  # type: ignore[attr-defined]
    scaled = np.asarray(fit.residuals, float) / float(fit.sigma)  # type: ignore[attr-defined]
    ranef = []
    for factor in fit.ranef:  # type: ignore[attr-defined]
        modes = np.asarray(factor.modes, float)
        for k, effect in enumerate(factor.names):
            ranef.append(RanefQQ(factor.group, effect, tuple(factor.levels), qq(modes[:, k])))
    return Diagnostics(
        fitted=fitted,
        scaled=scaled,
        check=residual_check(fitted, scaled),
        residual_qq=qq(scaled),
        ranef=tuple(ranef),
    )


def row_groups(frame: pd.DataFrame, spec: object, columns: Sequence[str]) -> np.ndarray | None:
    """Each used row's label of the grouping factor ``columns`` (joined with ":" as lme4
    names interaction levels), in the fit's row order; None if the rows do not match."""
    clean, _ = complete_rows(frame, list(spec.columns))  # type: ignore[attr-defined]
    parts = [clean[c].astype(str).to_numpy() for c in columns]
    labels = parts[0]
    for part in parts[1:]:
        labels = np.char.add(np.char.add(labels.astype(str), ":"), part.astype(str))
    return np.asarray(labels, dtype=object)


def group_spreads(scaled: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Per group: n, mean and SD of the scaled residuals (sorted by n, largest first)."""
    frame = pd.DataFrame({"group": labels, "r": scaled})
    table = frame.groupby("group", sort=True)["r"].agg(["size", "mean", "std"])
    table.columns = ["n", "mean", "sd"]
    return table.sort_values("n", ascending=False, kind="stable")
