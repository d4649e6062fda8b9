"""The convergence check of a GLMM fit and the record of what the optimizer did.

lme4 1.1-31 ``checkConv`` and ``checkHess`` (``R/checkConv.R``), run by ``glmer``
on the derivatives of the deviance over (theta, beta) at the optimum
(``optinfo$derivs``), with ``glmerControl()``'s defaults:

* singular (a diagonal theta below 1e-4): the message "boundary (singular) fit"
  and no further checks;
* gradient: ``max(pmin(|solve(chol(H), g)|, |g|)) > 0.002`` -> "Model failed to
  converge with max|grad| = ..."; an H that is not positive definite -> "unable
  to evaluate scaled gradient";
* Hessian (tolerance 1e-6), first of the fixed effects' block, then of the whole:
  negative eigenvalues -> "degenerate Hessian", an eigenvalue near 0 or a failed
  Cholesky -> "numerically singular", max eigenvalue above 1e6 or eigenvalue ratio
  below 1e-6 -> "nearly unidentifiable".

lme4 takes g and H by plain central differences (``deriv12``); here they are the
Richardson ones the standard errors use (``lib.glmm.fit.hessian_vcov``), which
is what lme4's own help page (``?convergence``) recommends for checking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lib.lmm.numderiv import R_STEPS
from lib.lmm.optsummary import OptimizerSummary


class FitSummary(Protocol):
    """What the records read of a packaged fit (a ``GlmmFit``)."""

    nagq: int
    evaluations: tuple
    theta: np.ndarray
    fixef_names: tuple
    singular: bool


GRADIENT_TOL = 0.002  # check.conv.grad
HESSIAN_TOL = 1e-6  # check.conv.hess
SINGULAR_MESSAGE = "boundary (singular) fit: see help('isSingular')"


@dataclass(frozen=True, eq=False)
class ConvergenceCheck:
    """lme4's ``checkConv`` at the optimum.

    Attributes
    ----------
    parameter_names : tuple of str
        The parameters g and H are taken over (free thetas, then the fixed effects).
    gradient : ndarray
        Gradient of the deviance (-2 logLik); empty for a singular fit.
    hessian : ndarray
        Its Hessian; empty for a singular fit.
    max_gradient : float
        ``max(pmin(|H^{-1/2} g|, |g|))`` (NaN when not computable or singular).
    hessian_condition : float
        Largest over smallest eigenvalue of H (NaN when not positive).
    messages : tuple of str
        lme4's wording, in lme4's order; empty when the fit passed.
    singular : bool
    """

    parameter_names: tuple[str, ...]
    gradient: np.ndarray
    hessian: np.ndarray
    max_gradient: float
    hessian_condition: float
    messages: tuple[str, ...]
    singular: bool

    @property
    def converged(self) -> bool:
        """No gradient or Hessian warning (a singular fit is converged, on its bound)."""
        return not any(m.startswith(("Model failed", "unable")) for m in self.messages)


def check_hessian(H: np.ndarray, tol: float = HESSIAN_TOL, kind: str = "") -> list[str]:
    """lme4's ``checkHess``: messages for a Hessian that is not clearly positive definite."""
    # lme4 pastes the (possibly empty) kind between spaces: "degenerate  Hessian".
    try:
        ev = np.linalg.eigvalsh(H)
    except np.linalg.LinAlgError:
        return ["Problem with Hessian check (infinite or missing values?)"]
    if not np.all(np.isfinite(ev)):
        return ["Problem with Hessian check (infinite or missing values?)"]
    negative = int(np.sum(ev < -tol))
    if negative:
        return [
            f"Model failed to converge: degenerate {kind} Hessian with {negative} "
            "negative eigenvalues"
        ]
    try:
        np.linalg.cholesky(H)
        factorable = True
    except np.linalg.LinAlgError:
        factorable = False
    if np.any(np.abs(ev) < tol) or not factorable:
        return [f"{kind} Hessian is numerically singular: parameters are not uniquely determined"]
    out = []
    if ev.max() * tol > 1:
        out.append("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?")
    if ev.min() / ev.max() < tol:
        out.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?")
    return out


def scaled_gradient(gradient: np.ndarray, hessian: np.ndarray) -> np.ndarray | None:
    """``solve(chol(H), g)``: R's ``chol`` is the upper factor R with R'R = H."""
    try:
        lower = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return None
    return np.linalg.solve(lower.T, gradient)


def check_convergence(
    gradient: np.ndarray,
    hessian: np.ndarray,
    n_theta: int,
    singular: bool,
    parameter_names: tuple[str, ...],
) -> ConvergenceCheck:
    """lme4's ``checkConv`` for a GLMM (``glmerControl()`` defaults).

    Parameters
    ----------
    gradient, hessian : ndarray
        Of the deviance over (theta, beta) at the optimum.
    n_theta : int
        How many of the parameters are thetas (they come first).
    singular : bool
        A diagonal theta below 1e-4: lme4 stops after its message.
    parameter_names : tuple of str
    """
    g = np.asarray(gradient, dtype=float)
    H = np.asarray(hessian, dtype=float)
    if singular or g.size == 0:
        # lme4 stops after the singular message; nAGQ = 0 has no derivatives.
        return ConvergenceCheck(
            parameter_names,
            np.empty(0),
            np.empty((0, 0)),
            np.nan,
            np.nan,
            (SINGULAR_MESSAGE,) if singular else (),
            singular,
        )
    if np.any(np.isnan(g)):
        return ConvergenceCheck(
            parameter_names, g, H, np.nan, np.nan, ("Gradient contains NAs",), False
        )
    messages: list[str] = []
    scaled = scaled_gradient(g, H)
    if scaled is None or np.any(np.isnan(scaled)):
        max_gradient = np.nan
        messages.append("unable to evaluate scaled gradient")
    else:
        mingrad = np.minimum(np.abs(scaled), np.abs(g))
        max_gradient = float(mingrad.max()) if mingrad.size else 0.0
        if max_gradient > GRADIENT_TOL:
            # lme4 prints which.max of the scalar maximum: always component 1.
            messages.append(
                f"Model failed to converge with max|grad| = {max_gradient:g} "
                f"(tol = {GRADIENT_TOL:g}, component 1)"
            )
    if H.shape[0] > n_theta:
        messages += check_hessian(H[n_theta:, n_theta:], kind="fixed-effect")
    messages += check_hessian(H)
    try:
        ev = np.linalg.eigvalsh(H)
        condition = float(ev.max() / ev.min()) if ev.min() > 0 else np.nan
    except np.linalg.LinAlgError:
        condition = np.nan
    return ConvergenceCheck(parameter_names, g, H, max_gradient, condition, tuple(messages), False)


def optimizer_record(
    nagq: int,
    evaluations: tuple[int, ...],
    results: tuple,
    theta_start: np.ndarray,
    theta_final: np.ndarray,
    hessian_evaluations: int,
) -> OptimizerSummary:
    """What glmer's stages did, as the linear engine's ``OptimizerSummary``.

    Parameters
    ----------
    nagq : int
    evaluations : tuple of int
        Deviance evaluations of stage 1 (nAGQ = 0) and stage 2.
    results : tuple of OptimizeResult
        The BOBYQA results of the stages that ran.
    theta_start, theta_final : ndarray
    hessian_evaluations : int
        Deviance evaluations of the Richardson Hessian (0 for nAGQ = 0).
    """
    stage2 = "Laplace" if nagq == 1 else f"adaptive Gauss-Hermite, {nagq} nodes"
    stages = [f"nAGQ = 0 stage: BOBYQA over theta, beta by PIRLS ({evaluations[0]} evaluations)"]
    if nagq >= 1:
        stages.append(f"{stage2}: BOBYQA over (theta, beta) ({evaluations[1]} evaluations)")
        stages.append(
            f"standard errors: Richardson Hessian over (theta, beta) "
            f"({hessian_evaluations} evaluations)"
        )
    return OptimizerSummary(
        method="; ".join(stages),
        converged=all(bool(r.success) for r in results),
        n_evaluations=int(sum(evaluations) + hessian_evaluations),
        message="; ".join(str(r.message) for r in results),
        theta_start=np.asarray(theta_start, dtype=float).copy(),
        theta_final=np.asarray(theta_final, dtype=float).copy(),
        stages=tuple(stages),
    )


def parameter_names(terms, layouts) -> tuple[str, ...]:  # noqa: ANN001
    """lme4's names of theta (``getME(fit, "theta")``): ``herd.(Intercept)`` for a
    diagonal element, ``district.urbanY.(Intercept)`` below it."""
    out = []
    for term, layout in zip(terms, layouts, strict=True):
        for i, j in layout.positions:
            if i == j:
                out.append(f"{term.name}.{term.names[i]}")
            else:
                out.append(f"{term.name}.{term.names[i]}.{term.names[j]}")
    return tuple(out)


def convergence_records(
    fit: FitSummary,
    layouts: tuple,
    terms: tuple,
    results: tuple,
    theta_start: np.ndarray,
    hessian: np.ndarray | None = None,
    gradient: np.ndarray | None = None,
) -> dict:
    """``GlmmFit.optimizer`` and ``GlmmFit.convergence`` of a packaged fit, as
    keyword arguments for ``dataclasses.replace``; ``hessian`` and ``gradient`` over
    the free (theta, beta) as ``lib.glmm.fit.hessian_vcov`` returns them (None for
    nAGQ = 0)."""
    names = parameter_names(terms, layouts) + tuple(fit.fixef_names)
    n_free = 0 if hessian is None else hessian.shape[0]
    points = 0 if n_free == 0 else 1 + 2 * R_STEPS * n_free + R_STEPS * n_free * (n_free - 1)
    record = optimizer_record(fit.nagq, fit.evaluations, results, theta_start, fit.theta, points)
    check = check_convergence(
        np.empty(0) if gradient is None else gradient,
        np.empty((0, 0)) if hessian is None else hessian,
        fit.theta.size,
        fit.singular,
        names,
    )
    return {"optimizer": record, "convergence": check}
