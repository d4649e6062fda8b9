"""Simulation sandbox: why not just OLS on grouped data?

Each replicate draws G groups of m rows from

    y_ij = beta0 + beta1 x_ij + u0_j + u1_j x_ij + e_ij,
    u0_j ~ N(0, icc),  u1_j ~ N(0, slope_sd^2),  e_ij ~ N(0, 1 - icc),
    x_ij = w_j + v_ij,  w_j, v_ij ~ N(0, 1/2),

so the outcome's variance at x = 0 is 1 and ``icc`` is the share of it
between groups; x varies within and between groups (like study time across
schools). Each data set is fitted by OLS (``y ~ x``) and by the mixed model
(``y ~ x + (1 | g)``, or ``y ~ x + (1 + x | g)`` when ``slope_sd > 0``) with
this project's engine. Across replicates we get the sampling distribution of
the slope estimate, the standard error each method reports, and the coverage
of its 95% interval (OLS: t on n - 2 df; mixed model: Satterthwaite df, as
lmerTest). OLS treats the n rows as independent, so with ICC > 0 its standard
error is too small and its intervals cover the true slope less than 95% of the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from lib.errors import ExplorerError, SpecError
from lib.lmm import fit_design
from lib.model.design import Design, TermDesign
from lib.model.spec import ModelSpec

BETA0, BETA1 = 0.0, 0.5
LIMITS = {
    "n_groups": (3, 200),
    "group_size": (2, 200),
    "icc": (0.0, 0.95),
    "slope_sd": (0.0, 2.0),
    "n_sims": (10, 2000),
    "seed": (0, 2**31 - 1),
}
MAX_ROWS = 20_000  # rows per simulated data set


@dataclass(frozen=True)
class SimSettings:
    """What to simulate (validated on construction).

    Attributes
    ----------
    n_groups, group_size : int
    icc : float
        Between-group share of the outcome variance at x = 0, in [0, 0.95].
    slope_sd : float
        SD of the groups' slopes around ``BETA1``.
    n_sims : int
        Replicates.
    seed : int
    """

    n_groups: int = 10
    group_size: int = 20
    icc: float = 0.3
    slope_sd: float = 0.0
    n_sims: int = 200
    seed: int = 1

    def __post_init__(self) -> None:
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int | float) or not lo <= value <= hi:
                raise SpecError(f"`{name}` must be in [{lo}, {hi}], got {value!r}.")
        if self.n_groups * self.group_size > MAX_ROWS:
            raise SpecError(
                f"{self.n_groups} groups of {self.group_size} rows are "
                f"{self.n_groups * self.group_size:,} rows; keep it at most {MAX_ROWS:,}."
            )


@dataclass(frozen=True, eq=False)
class SimResult:
    """Per replicate estimates of the slope by both methods.

    Attributes
    ----------
    settings : SimSettings
    true_slope : float
    ols_est, ols_se, lmm_est, lmm_se : ndarray (n_sims,)
        NaN where the mixed model could not be fitted.
    ols_cover, lmm_cover : ndarray (n_sims,) of bool
        Whether the 95% interval held the true slope.
    n_failed : int
        Replicates where the mixed model failed (left out of its summaries).
    seconds : float
        Wall time of the whole run.
    """

    settings: SimSettings
    true_slope: float
    ols_est: np.ndarray
    ols_se: np.ndarray
    ols_cover: np.ndarray
    lmm_est: np.ndarray
    lmm_se: np.ndarray
    lmm_cover: np.ndarray
    n_failed: int
    seconds: float


def _draw(settings: SimSettings, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Group codes, x and y of one data set (the draws, in a fixed order)."""
    G, m = settings.n_groups, settings.group_size
    g = np.repeat(np.arange(G), m)
    x = rng.normal(0.0, np.sqrt(0.5), G)[g] + rng.normal(0.0, np.sqrt(0.5), G * m)
    u0 = rng.normal(0.0, np.sqrt(settings.icc), G)
    u1 = rng.normal(0.0, settings.slope_sd, G)
    e = rng.normal(0.0, np.sqrt(1.0 - settings.icc), G * m)
    return g, x, BETA0 + BETA1 * x + u0[g] + u1[g] * x + e


def _levels(settings: SimSettings) -> tuple[str, ...]:
    return tuple(f"g{k:03d}" for k in range(settings.n_groups))


def simulate_data(settings: SimSettings, rng: np.random.Generator) -> pd.DataFrame:
    """One data set: columns g (group label), x, y."""
    g, x, y = _draw(settings, rng)
    return pd.DataFrame({"g": pd.Categorical.from_codes(g, _levels(settings)), "x": x, "y": y})


def _design(settings: SimSettings, spec: ModelSpec, g, x, y) -> Design:  # noqa: ANN001
    """The arrays ``lib.model.design.build_design`` would build for these draws (no frame:
    building one per replicate cost a third of the run)."""
    term = spec.random[0]
    z = [np.ones_like(x)] + ([x] if term.slopes else [])
    return Design(
        y=y,
        X=np.asfortranarray(np.column_stack([np.ones_like(x), x])),
        terms=(
            TermDesign(
                term=term,
                codes=g,
                levels=_levels(settings),
                Z=np.asfortranarray(np.column_stack(z)),
            ),
        ),
        fixef_names=("(Intercept)", "x"),
        n_dropped=0,
    )


def mixed_spec(settings: SimSettings) -> ModelSpec:
    """The mixed model that matches the simulation."""
    slopes = ("x",) if settings.slope_sd > 0 else ()
    return ModelSpec.one_factor("y", "g", fixed=("x",), random_slopes=slopes)


def ols_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Slope, its OLS standard error and residual df of ``lm(y ~ x)``."""
    n = x.size
    xc = x - x.mean()
    sxx = float(xc @ xc)
    b = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - b * xc
    df = n - 2
    return b, float(np.sqrt(resid @ resid / df / sxx)), df


def simulate(
    settings: SimSettings, progress: Callable[[int, int], None] | None = None
) -> SimResult:
    """Run the replicates; ``progress(done, total)`` is called every few of them."""
    start = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    spec = mixed_spec(settings)
    n = settings.n_sims
    out = {k: np.full(n, np.nan) for k in ("ob", "ose", "odf", "lb", "lse", "ldf")}
    failed = 0
    step = max(1, n // 50)
    for r in range(n):
        g, x, y = _draw(settings, rng)
        out["ob"][r], out["ose"][r], out["odf"][r] = ols_slope(x, y)
        try:
            fit = fit_design(_design(settings, spec, g, x, y), spec)
            out["lb"][r], out["lse"][r], out["ldf"][r] = fit.beta[1], fit.beta_se[1], fit.beta_df[1]
        except ExplorerError:
            failed += 1
        if progress is not None and (r + 1) % step == 0:
            progress(r + 1, n)
    ols_cover = _covers(out["ob"], out["ose"], out["odf"])
    lmm_cover = _covers(out["lb"], out["lse"], out["ldf"])
    return SimResult(
        settings=settings,
        true_slope=BETA1,
        ols_est=out["ob"],
        ols_se=out["ose"],
        ols_cover=ols_cover,
        lmm_est=out["lb"],
        lmm_se=out["lse"],
        lmm_cover=lmm_cover,
        n_failed=failed,
        seconds=time.perf_counter() - start,
    )


def _covers(b: np.ndarray, se: np.ndarray, df: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(0.975, df) * se
        return np.abs(b - BETA1) <= half


@dataclass(frozen=True)
class SimSummary:
    """One method's summary over the replicates.

    Attributes
    ----------
    method : str
    n : int
        Replicates summarised.
    mean_estimate : float
    empirical_sd : float
        SD of the estimates across replicates: the true standard error.
    mean_reported_se : float
        Average standard error the method reported.
    coverage : float
        Share of 95% intervals that held the true slope.
    """

    method: str
    n: int
    mean_estimate: float
    empirical_sd: float
    mean_reported_se: float
    coverage: float


def summarise(result: SimResult) -> tuple[SimSummary, SimSummary]:
    """(OLS, mixed model) summaries; failed mixed fits are left out."""
    rows = []
    for method, b, se, cover in (
        ("OLS", result.ols_est, result.ols_se, result.ols_cover),
        ("Mixed model", result.lmm_est, result.lmm_se, result.lmm_cover),
    ):
        ok = np.isfinite(b) & np.isfinite(se)
        rows.append(
            SimSummary(
                method=method,
                n=int(ok.sum()),
                mean_estimate=float(np.mean(b[ok])),
                empirical_sd=float(np.std(b[ok], ddof=1)),
                mean_reported_se=float(np.mean(se[ok])),
                coverage=float(np.mean(cover[ok])),
            )
        )
    return rows[0], rows[1]
