"""The frozen result of a GLMM fit: the numbers of ``summary(glmer(...))``, no formatting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.glmm.convergence import ConvergenceCheck
from lib.glmm.response import OutcomeLevels
from lib.lmm.optsummary import OptimizerSummary
from lib.lmm.result import RanefFactor, TermVarCorr


@dataclass(frozen=True, eq=False)
class GlmmFit:
    """A binomial or Poisson mixed model fitted by the Laplace approximation (nAGQ = 1).

    Attributes
    ----------
    family, link : str
    nagq : int
        1 (Laplace) or 0 (glmer's nAGQ = 0: beta from the joint PIRLS, vcov from R_X).
    fixef_names : tuple of str
    beta, se, z, p_value : ndarray (p,)
        Estimates, standard errors, Wald z = beta / se and two-sided normal p.
    vcov : ndarray (p, p)
        2 H^{-1} restricted to beta, H the Hessian of the Laplace deviance over
        (theta, beta) (numDeriv's Richardson extrapolation of a converged-PIRLS
        deviance; glmer's default ``vcov`` is the same quantity from plain
        central differences of its lagged deviance).
    vcov_conditional : ndarray (p, p)
        (R_X'R_X)^{-1} at the mode's weights: glmer's ``vcov(use.hessian = FALSE)``,
        beta's covariance given theta (smaller).
    theta : ndarray
        lme4's covariance parameters (sigma = 1).
    varcorr : tuple of TermVarCorr
    ranef : tuple of RanefFactor
        Conditional modes Lambda u and their conditional covariances.
    deviance : float
        -2 logLik (``summary``'s "deviance" = glmer's objective).
    deviance_conditional : float
        Sum of squared deviance residuals at the modes (``deviance(fit)``).
    loglik, aic, bic : float
    df_resid : int
        Rows minus parameters (theta and beta).
    nobs : int
        Rows (not trials).
    n_dropped : int
    pearson_residuals : ndarray (n,)
        sqrt(w / V(mu)) (y - mu) at the modes (``residuals(fit, "pearson")``).
    scaled_resid_quantiles : ndarray (5,)
        Min, quartiles and max of the Pearson residuals (``summary``'s "Scaled residuals").
    singular : bool
        A diagonal theta below lme4's ``isSingular`` tolerance (1e-4).
    fitted : ndarray (n,)
        mu at the modes (the response scale).
    eta : ndarray (n,)
        Linear predictor at the modes.
    evaluations : tuple of int
        Deviance evaluations of stage 1 (nAGQ = 0) and stage 2.
    fit_seconds : float
    optimizer : OptimizerSummary or None
        The stages, their evaluations and BOBYQA's messages (``lib.glmm.convergence``).
    convergence : ConvergenceCheck or None
        lme4's ``checkConv`` at the optimum: gradient, Hessian, messages.
    outcome_levels : OutcomeLevels or None
        For a two-valued text or boolean outcome, the labels counted as 0 and 1.
    """

    family: str
    link: str
    nagq: int
    fixef_names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    vcov: np.ndarray
    vcov_conditional: np.ndarray
    theta: np.ndarray
    varcorr: tuple[TermVarCorr, ...]
    ranef: tuple[RanefFactor, ...]
    deviance: float
    deviance_conditional: float
    loglik: float
    aic: float
    bic: float
    df_resid: int
    nobs: int
    n_dropped: int
    pearson_residuals: np.ndarray
    scaled_resid_quantiles: np.ndarray
    singular: bool
    fitted: np.ndarray
    eta: np.ndarray
    evaluations: tuple[int, ...]
    fit_seconds: float
    outcome_levels: OutcomeLevels | None = None
    optimizer: OptimizerSummary | None = None
    convergence: ConvergenceCheck | None = None

    @property
    def n_parameters(self) -> int:
        return int(self.theta.size + self.beta.size)
