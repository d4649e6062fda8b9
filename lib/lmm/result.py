"""Typed, frozen results of a linear mixed-model fit (numbers only, no formatting).

Shapes use n = observations, p = fixed-effect columns, q = random-effect terms
per group, G = groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lib.lmm.optsummary import OptimizerSummary
from lib.model.spec import ModelSpec


@dataclass(frozen=True, eq=False)
class TermVarCorr:
    """Variance components of one random term, as one block of lme4's ``VarCorr``.

    Attributes
    ----------
    group : str
        lme4's grouping-factor name (``school``, ``class:school``).
    names : tuple of str
        Random effects of the term, ``(Intercept)`` first.
    covariance : ndarray (q, q)
        Covariance matrix of the term's random effects (zeros off the diagonal
        for an uncorrelated term).
    correlated : bool
        Whether correlations are model parameters (shown in the table).
    """

    group: str
    names: tuple[str, ...]
    covariance: np.ndarray
    correlated: bool

    @property
    def variances(self) -> np.ndarray:
        return np.diag(self.covariance).copy()

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(self.variances)

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix (NaN where an SD is zero)."""
        sd = self.sd
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.covariance / np.outer(sd, sd)


@dataclass(frozen=True, eq=False)
class VarCorr:
    """Variance components of every term, as lme4's ``VarCorr``.

    Attributes
    ----------
    terms : tuple of TermVarCorr
        One entry per random term, in lme4's order (terms sorted by number of
        levels, largest first, as ``mkReTrms`` orders them).
    residual_variance : float
        sigma^2.
    """

    terms: tuple[TermVarCorr, ...]
    residual_variance: float

    @property
    def residual_sd(self) -> float:
        return float(np.sqrt(self.residual_variance))

    @property
    def total_random_variance(self) -> float:
        """Sum of every random-effect variance (the diagonal of each block)."""
        return float(sum(t.variances.sum() for t in self.terms))


@dataclass(frozen=True, eq=False)
class RanefFactor:
    """Conditional modes of one grouping factor, as one element of lme4's ``ranef()``.

    Terms on the same factor are merged (lme4's ``ranef`` does the same), so an
    uncorrelated term ``(1 | g) + (0 + x | g)`` gives one factor ``g`` with two
    columns.

    Attributes
    ----------
    group : str
        Grouping-factor name (``class:school``).
    levels : tuple of str
        Levels as R sorts them; interaction levels joined with ":".
    sizes : ndarray (G,)
        Rows per level.
    names : tuple of str
        Effect names (columns of ``modes``).
    modes : ndarray (G, q)
        Conditional modes of the random effects.
    condvar : ndarray (G, q, q)
        Conditional covariance of each level's random effects (lme4's ``postVar``),
        sigma^2 times the level's block of Lambda (L L')^{-1} Lambda'.
    """

    group: str
    levels: tuple[str, ...]
    sizes: np.ndarray
    names: tuple[str, ...]
    modes: np.ndarray
    condvar: np.ndarray

    @property
    def nlevels(self) -> int:
        return len(self.levels)


@dataclass(frozen=True, eq=False)
class Icc:
    """Intraclass correlation as ``performance::icc`` (Nakagawa et al. 2017)."""

    adjusted: float
    unadjusted: float


@dataclass(frozen=True, eq=False)
class R2:
    """Nakagawa's marginal and conditional R^2 as ``performance::r2_nakagawa``."""

    marginal: float
    conditional: float


@dataclass(frozen=True, eq=False)
class Conditioning:
    """How the search's parametrisation differs from the user's (``lib.lmm.conditioning``).

    The search runs on centred and scaled columns where a column is badly scaled
    (a ``year`` near 2000, an outcome in millions, micro-units); every reported
    number is mapped back to the user's units.

    Attributes
    ----------
    centre, scale : ndarray (p,)
        Per fixed-effect column: x* = (x - centre) / scale (0 and 1 where unchanged).
    applied : bool
        False when every column was left as it was.
    y_centre, y_scale : float
        The outcome's centre and scale (0 and 1 when unchanged).
    slope_centre, slope_scale : dict
        Per random-slope column that was rescaled.
    """

    centre: np.ndarray
    scale: np.ndarray
    applied: bool
    y_centre: float = 0.0
    y_scale: float = 1.0
    slope_centre: dict = field(default_factory=dict)
    slope_scale: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class LmmFit:
    """A fitted linear mixed model (any number of random terms).

    Attributes
    ----------
    spec : ModelSpec
        What was fitted.
    formula : str
        lme4-style formula rendered from the spec.
    reml : bool
        REML fit (criterion is the REML criterion) or ML (criterion is the deviance).
    criterion : float
        REML criterion at convergence, or the ML deviance (-2 logLik).
    loglik, aic, bic : float
        As lme4's ``logLik``, ``AIC``, ``BIC`` (REML-based for REML fits).
    npar : int
        Parameters counted by lme4 (p + length(theta) + 1).
    nobs : int
    n_dropped : int
        Rows dropped for a missing or non-finite value in a used column.
    fixef_names : tuple of str
        ``(Intercept)``, numeric columns, treatment dummies such as ``trtB``.
    beta, beta_se, beta_t, beta_df, beta_p : ndarray (p,)
        Estimates, standard errors, t values, Satterthwaite df and p-values (lmerTest).
    vcov_beta : ndarray (p, p)
    fixef_corr : ndarray (p, p)
        Correlation of fixed effects.
    theta : ndarray
        lme4's relative covariance parameters: per term (in ``varcorr.terms``
        order) the column-wise lower triangle of its factor.
    sigma : float
        Residual standard deviation.
    varcorr : VarCorr
    ranef : tuple of RanefFactor
        Conditional modes and variances per grouping factor (lme4's ``ranef``).
    fitted, residuals : ndarray (n,) or None
        None when the model was fitted from statistics of rows not held in memory
        (``lib.lmm.fit.fit_stats`` with DuckDB or Spark).
    scaled_resid_quantiles : ndarray (5,)
        Min, 1Q, median, 3Q, max of residuals / sigma (R's type-7 quantiles).
    singular : bool
        lme4's ``isSingular`` (a diagonal theta below 1e-4).
    conditioning : Conditioning
        How the fixed-effect columns were centred and scaled for the search and
        mapped back (identity when nothing was needed).
    optimizer : OptimizerSummary
    icc : Icc or None
        None where performance::icc is undefined (singular fit).
    r2 : R2 or None
    fit_seconds : float
        Wall time from data in memory to this result.
    """

    spec: ModelSpec
    formula: str
    reml: bool
    criterion: float
    loglik: float
    aic: float
    bic: float
    npar: int
    nobs: int
    n_dropped: int
    fixef_names: tuple[str, ...]
    beta: np.ndarray
    beta_se: np.ndarray
    beta_t: np.ndarray
    beta_df: np.ndarray
    beta_p: np.ndarray
    vcov_beta: np.ndarray
    fixef_corr: np.ndarray
    theta: np.ndarray
    sigma: float
    varcorr: VarCorr
    ranef: tuple[RanefFactor, ...]
    fitted: np.ndarray | None
    residuals: np.ndarray | None
    scaled_resid_quantiles: np.ndarray
    singular: bool
    conditioning: Conditioning
    optimizer: OptimizerSummary
    icc: Icc | None
    r2: R2 | None
    fit_seconds: float

    @property
    def ngroups(self) -> dict[str, int]:
        """Levels per grouping factor, as lme4's ``ngrps``."""
        return {f.group: f.nlevels for f in self.ranef}

    def factor(self, group: str) -> RanefFactor:
        """The conditional modes of one grouping factor, by its lme4 name."""
        for f in self.ranef:
            if f.group == group:
                return f
        raise KeyError(f"No grouping factor {group!r}; the model has {list(self.ngroups)}.")

    @property
    def criterion_name(self) -> str:
        return "REML criterion" if self.reml else "deviance"
