"""Typed, frozen results of a linear mixed-model fit (numbers only, no formatting).

Shapes use n = observations, p = fixed-effect columns, q = random-effect terms
per group, G = groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.spec import ModelSpec


@dataclass(frozen=True, eq=False)
class OptimizerSummary:
    """What the optimizer did (MixedModels.jl keeps this as its own object).

    Attributes
    ----------
    method : str
        Optimizer(s) used, e.g. ``"L-BFGS-B+Powell"``.
    converged : bool
        True when the optimizer reported success and the criterion is finite.
    n_evaluations : int
        Number of objective evaluations.
    message : str
        The optimizer's own message.
    theta_start, theta_final : ndarray
        Starting and final relative covariance parameters.
    """

    method: str
    converged: bool
    n_evaluations: int
    message: str
    theta_start: np.ndarray
    theta_final: np.ndarray


@dataclass(frozen=True, eq=False)
class VarCorr:
    """Variance components, as lme4's ``VarCorr``.

    Attributes
    ----------
    names : tuple of str
        Random-effect terms, ``(Intercept)`` first.
    covariance : ndarray (q, q)
        Covariance matrix of the random effects (zeros off the diagonal for an
        uncorrelated model).
    residual_variance : float
        sigma^2.
    correlated : bool
        Whether correlations are model parameters (shown in the table).
    """

    names: tuple[str, ...]
    covariance: np.ndarray
    residual_variance: float
    correlated: bool

    @property
    def variances(self) -> np.ndarray:
        return np.diag(self.covariance).copy()

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(self.variances)

    @property
    def residual_sd(self) -> float:
        return float(np.sqrt(self.residual_variance))

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix (NaN where an SD is zero)."""
        sd = self.sd
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.covariance / np.outer(sd, sd)


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
class LmmFit:
    """A fitted linear mixed model with one grouping factor.

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
    nobs, ngroups : int
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
        lme4's relative covariance parameters (column-wise lower triangle).
    sigma : float
        Residual standard deviation.
    varcorr : VarCorr
    group_levels : tuple of str
        Levels of the grouping factor, sorted as R sorts factor levels.
    group_sizes : ndarray (G,)
    ranef : ndarray (G, q)
        Conditional modes of the random effects (lme4's ``ranef``).
    ranef_condvar : ndarray (G, q, q)
        Conditional covariance of each group's random effects.
    fitted, residuals : ndarray (n,)
    scaled_resid_quantiles : ndarray (5,)
        Min, 1Q, median, 3Q, max of residuals / sigma (R's type-7 quantiles).
    singular : bool
        lme4's ``isSingular`` (a diagonal theta below 1e-4).
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
    ngroups: int
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
    group_levels: tuple[str, ...]
    group_sizes: np.ndarray
    ranef: np.ndarray
    ranef_condvar: np.ndarray
    fitted: np.ndarray
    residuals: np.ndarray
    scaled_resid_quantiles: np.ndarray
    singular: bool
    optimizer: OptimizerSummary
    icc: Icc | None
    r2: R2 | None
    fit_seconds: float

    @property
    def random_names(self) -> tuple[str, ...]:
        return self.varcorr.names

    @property
    def criterion_name(self) -> str:
        return "REML criterion" if self.reml else "deviance"
