"""The optimizer's stages on a batched criterion (lme4's ``optimizeLmer`` step).

lme4 uses bounded derivative-free optimisers (bobyqa, Nelder-Mead). Here the
criterion's exact gradient is known (``lib.lmm.gradient``) and its Hessian is
central differences of it. Which stages run, from which start, is the search's
choice (``lib.lmm.search``); the stages are:

- a first search: bounded L-BFGS-B on the gradient (``lbfgsb``), BOBYQA
  (``bobyqa``, where a solve is costly), or projected Newton steps
  (``newton_polish``) from a good start;
- a saddle check: where a diagonal element of theta is 0 the criterion is even
  in it, its gradient vanishes and a gradient search may stop on a saddle; a
  negative eigenvalue of the Hessian reveals it and the search restarts
  downhill (``escape_saddle``);
- a few projected Newton steps (Bertsekas 1982, SIAM J. Control Optim. 20(2)):
  L-BFGS-B tends to stop ~1e-9 (relative) above the optimum, leaving theta
  ~1e-4 off on these flat surfaces. With the exact gradient they are chord
  steps (the Hessian kept) and continue below the criterion's rounding
  (~1e-12 relative) to the gradient's zero, so the same data summed in another
  order (DuckDB, Spark) gives theta to ~1e-12, not ~1e-7 (``newton_polish``);
- each small diagonal element of theta tried at exactly 0, where singular fits
  live and where a quasi-Newton search only creeps towards the bound.

The lowest criterion seen wins, except that a point found on the exact
gradient's zero is taken over one lower by less than the criterion's rounding
(``BatchedDeviance.prefer``). ``finish`` runs the last three stages and writes
the record of what ran (``lib.lmm.optsummary``).
"""

from __future__ import annotations

from collections.abc import Callable

import nlopt
import numpy as np
from scipy import optimize

from lib.lmm.numderiv import gradient_stencil, stencil_derivative
from lib.lmm.optsummary import OptimizerSummary, gradient_kind

GRADIENT_STEP = 1e-6
NEWTON_MAX_ITER = 10
NOISE_DECREASE = 1e-12  # relative to the criterion
# The Newton steps stop when g'H^-1 g (twice the decrease the quadratic model
# predicts) falls below this: the optimum is then within sqrt(1e-13) of the
# gradient's zero in the norm sqrt(d'Hd).
NEWTON_DECREMENT_TOL = 1e-13
STEP_TOL = 1e-12  # relative step below which the exact-gradient Newton steps stop
# How far above the lowest criterion seen a point found by the exact gradient may
# be and still be preferred: the criterion's own rounding reaches ~1e-12 relative
# (r^2 = y'y - |c_u|^2 - |c_b|^2 cancels; measured 1.1e-12 on two_slopes_reml).
PREFER_RTOL = 1e-10
LINE_SEARCH = 0.5 ** np.arange(6)  # trial step lengths, evaluated in one call
BOUNDARY_TRY = 1e-2
LBFGSB_OPTIONS = {"ftol": 1e-10, "gtol": 1e-7, "maxiter": 500, "maxls": 40}
BOBYQA_FTOL_REL = 1e-12
BOBYQA_MAXEVAL = 5000


class BatchedDeviance:
    """theta (or a batch of thetas) -> profiled deviance, counting evaluations.

    ``evaluate`` maps thetas of shape (B, k) to criteria of shape (B,), inf where
    the factor does not exist. ``gradient``, where the exact gradient is known
    (``lib.lmm.gradient``), maps thetas to (criteria, gradients of shape (B, k),
    NaN where not exact); it then replaces the finite differences below.
    ``gradients`` counts the gradients used by kind, for the record of what ran.
    """

    def __init__(
        self,
        evaluate: Callable[[np.ndarray], np.ndarray],
        gradient: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
        cheap_batches: bool = False,
    ) -> None:
        self.evaluate = evaluate
        self.gradient = gradient
        self.cheap_batches = cheap_batches  # a batch of thetas costs about one solve
        self.evaluations = 0
        self.best_theta: np.ndarray | None = None
        self.best_value = np.inf
        # The last gradient_hessian call: the saddle check and the final Newton polish
        # ask again at the point where the previous Newton steps stopped.
        self._last_derivatives: tuple | None = None  # (theta, (f, g, H), exact)
        self.last_exact = False  # the last gradient returned was exact
        self.gradients = {"exact": 0, "differences": 0}

    def gradient_kind_since(self, counts: dict[str, int]) -> str:
        """How the gradients used since ``counts`` (a copy of ``gradients``) were made."""
        return gradient_kind(
            self.gradients["exact"] - counts["exact"],
            self.gradients["differences"] - counts["differences"],
        )

    def many(self, thetas: np.ndarray) -> np.ndarray:
        thetas = np.atleast_2d(thetas)
        self.evaluations += thetas.shape[0]
        values = self.evaluate(thetas)
        k = int(np.argmin(values))
        if values[k] < self.best_value:
            self.best_value, self.best_theta = float(values[k]), thetas[k].copy()
        return values

    def __call__(self, theta: np.ndarray) -> float:
        return float(self.many(np.asarray(theta, dtype=float)[None, :])[0])

    def prefer(self, theta: np.ndarray, value: float, rtol: float = PREFER_RTOL) -> None:
        """Make ``theta`` the result if its criterion is within ``rtol`` of the best:
        where the criterion cannot tell points apart, the exact gradient can."""
        if value <= self.best_value + rtol * max(1.0, abs(self.best_value)):
            self.best_value, self.best_theta = float(value), np.array(theta, dtype=float)

    def many_with_gradients(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Criteria and exact gradients at a batch of thetas (needs ``gradient``)."""
        self.evaluations += thetas.shape[0]
        values, grads = self.gradient(thetas)
        k = int(np.argmin(values))
        if values[k] < self.best_value:
            self.best_value, self.best_theta = float(values[k]), thetas[k].copy()
        return values, grads

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient: exact, or by central differences in one batched evaluation
        (where there is no exact gradient, or it is not defined at ``theta``: NaN)."""
        self.last_exact = False
        if self.gradient is not None:
            values, grads = self.many_with_gradients(np.asarray(theta, dtype=float)[None, :])
            grad = grads[0]
            if not np.isfinite(values[0]) or np.all(np.isfinite(grad)):
                self.last_exact = bool(np.isfinite(values[0]))
                self.gradients["exact"] += self.last_exact
                return float(values[0]), np.where(np.isfinite(grad), grad, 0.0)
        k = theta.size
        steps = GRADIENT_STEP * np.maximum(1.0, np.abs(theta))
        points = np.vstack([theta, theta + np.diag(steps), theta - np.diag(steps)])
        values = self.many(points)
        self.gradients["differences"] += 1
        grad = (values[1 : k + 1] - values[k + 1 :]) / (2.0 * steps)
        if not np.all(np.isfinite(grad)):
            grad = np.where(np.isfinite(grad), grad, 0.0)
        return float(values[0]), grad

    def gradient_hessian(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Value, gradient and Hessian by central differences, in one batched call
        (the same difference formulas as numDeriv's ``genD``)."""
        if self._last_derivatives is not None and np.array_equal(self._last_derivatives[0], theta):
            self.last_exact = self._last_derivatives[2]
            return self._last_derivatives[1]
        k = theta.size
        stencil, h = gradient_stencil(theta)
        self.last_exact = False
        if self.gradient is not None:
            # Central differences of the exact gradient: 2k + 1 solves instead of
            # 2k^2 + 1, and O(h^2) error in H without the cancellation of second
            # differences of the criterion.
            values, grads = self.many_with_gradients(stencil)
            if np.all(np.isfinite(grads)) or not np.isfinite(values[0]):
                H = stencil_derivative(grads, h)
                H = 0.5 * (H + H.T)
                result = (float(values[0]), grads[0], H)
                self.last_exact = bool(np.isfinite(values[0]))
                self.gradients["exact"] += self.last_exact
                self._last_derivatives = (theta.copy(), result, self.last_exact)
                return result
        eye = np.diag(h)
        pairs = [(i, j) for i in range(k) for j in range(i)]
        cross = np.array([eye[i] + eye[j] for i, j in pairs]).reshape(-1, k)
        v = self.many(np.vstack([stencil, theta + cross, theta - cross]))
        self.gradients["differences"] += 1
        f0, fp, fm = v[0], v[1 : k + 1], v[k + 1 : 2 * k + 1]
        up, down = v[2 * k + 1 : 2 * k + 1 + len(pairs)], v[2 * k + 1 + len(pairs) :]
        grad = (fp - fm) / (2.0 * h)
        H = np.diag((fp - 2.0 * f0 + fm) / h**2)
        for n, (i, j) in enumerate(pairs):
            H[i, j] = H[j, i] = (
                up[n] - 2.0 * f0 + down[n] - H[i, i] * h[i] ** 2 - H[j, j] * h[j] ** 2
            ) / (2.0 * h[i] * h[j])
        self._last_derivatives = (theta.copy(), (float(f0), grad, H), False)
        return float(f0), grad, H


def newton_polish(
    devfun: BatchedDeviance, theta: np.ndarray, lower: np.ndarray, max_iter: int = NEWTON_MAX_ITER
) -> tuple[np.ndarray, bool]:
    """A few projected Newton steps from a point near the optimum.

    Variables at a bound whose gradient points outwards stay fixed; the
    Hessian's small or negative eigenvalues are raised to keep the step a
    descent direction; each step is projected onto the bounds and halved until
    the criterion decreases. Stops when the Newton decrement is negligible.
    With exact gradients (one term) the Hessian is kept while full steps
    succeed (chord Newton) and recomputed only after a line search.

    Returns
    -------
    theta, converged
        ``converged``: stopped because g'H^-1 g fell below NEWTON_DECREMENT_TOL (or
        every variable sits on its bound), not for lack of progress or iterations.
    """
    x = np.maximum(theta, lower)
    f, g, H = devfun.gradient_hessian(x)
    for _ in range(max_iter):
        exact = devfun.last_exact  # of g: exact gradients can be undefined (a variance at 0)
        if not (np.isfinite(f) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
            return x, False
        free = ~((lower == 0.0) & (x <= 0.0) & (g > 0.0))
        if not free.any():
            return x, True
        w, V = np.linalg.eigh(H[np.ix_(free, free)])
        w = np.maximum(np.abs(w), 1e-8 * max(1.0, float(np.max(np.abs(w)))))
        step = np.zeros_like(x)
        step[free] = -V @ ((V.T @ g[free]) / w)
        if -float(g[free] @ step[free]) < NEWTON_DECREMENT_TOL:
            return x, True
        if exact:
            # With exact gradients the full step is tried first. Where a batch of
            # 2k + 1 solves costs about one (few groups), the trial comes with its
            # Hessian (Newton: quadratic convergence from a grid point); otherwise
            # the Hessian is kept (chord Newton: near the optimum it converges
            # linearly at a rate ~|H_old^-1 H - I|, each step one gradient).
            trial = np.maximum(x + step, lower)
            if devfun.cheap_batches:
                f1, g1, H1 = devfun.gradient_hessian(trial)
            else:
                (f1, g1), H1 = devfun.value_and_gradient(trial), H
            predicted = -float(g[free] @ step[free])
            resolved = predicted >= NOISE_DECREASE * max(1.0, abs(f))
            shrinks = devfun.last_exact and np.linalg.norm(g1[free]) < np.linalg.norm(g[free])
            if f1 < f or (not resolved and shrinks):
                # Below what the criterion resolves (rounding ~1e-16 |f|, i.e. theta
                # to ~1e-7 only), the step is taken if the gradient shrinks: its zero
                # is found to ~1e-12, so fits of the same data summed in another
                # order (DuckDB, Spark) agree to that, not to the criterion's noise.
                small = np.all(np.abs(trial - x) <= STEP_TOL * np.maximum(1.0, np.abs(x)))
                x, f, g, H = trial, f1, g1, H1
                if not resolved:
                    devfun.prefer(x, f)
                if small:
                    return x, True
                continue
            if not resolved:
                return x, True  # the criterion cannot resolve a step this small
        trials = np.maximum(x + LINE_SEARCH[:, None] * step, lower)
        values = devfun.many(trials)
        better = values < f
        if not better.any():
            # No step helps: converged if the promised gain is at the rounding level
            # of the criterion itself (about 1e-11 at a criterion near 1000).
            return x, -float(g[free] @ step[free]) < NOISE_DECREASE * max(1.0, abs(f))
        x = trials[int(np.argmax(better))]
        f, g, H = devfun.gradient_hessian(x)
    return x, False


def escape_saddle(
    devfun: BatchedDeviance, theta: np.ndarray, lower: np.ndarray
) -> np.ndarray | None:
    """A better point along a direction of negative curvature, or None.

    With a diagonal element of theta at 0 the criterion is even in that element
    (flipping the sign of a column of T changes nothing), so its gradient
    vanishes there and a gradient-based search can stop on a saddle point;
    bobyqa, lme4's derivative-free optimiser, does not. The Hessian shows it.
    """
    f, _, H = devfun.gradient_hessian(theta)
    w, V = np.linalg.eigh(H)
    if not np.isfinite(f) or w[0] >= -1e-6 * max(1.0, float(np.max(np.abs(w)))):
        return None
    direction = V[:, 0]
    lengths = 10.0 ** np.arange(-4, 1.01, 0.5)
    trials = np.vstack([theta + lengths[:, None] * direction, theta - lengths[:, None] * direction])
    trials = np.maximum(trials, lower)
    values = devfun.many(trials)
    k = int(np.argmin(values))
    return trials[k] if values[k] < f else None


def lbfgsb(devfun: BatchedDeviance, start: np.ndarray, bounds: list) -> optimize.OptimizeResult:
    return optimize.minimize(
        devfun.value_and_gradient,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options=LBFGSB_OPTIONS,
    )


def bobyqa(
    devfun: BatchedDeviance,
    start: np.ndarray,
    lower: np.ndarray,
    step: np.ndarray | None = None,
    ftol_rel: float = BOBYQA_FTOL_REL,
) -> optimize.OptimizeResult:
    """nlopt's BOBYQA (Powell 2009), lme4's and MixedModels.jl's default optimiser."""
    opt = nlopt.opt(nlopt.LN_BOBYQA, start.size)
    opt.set_lower_bounds(np.where(np.isfinite(lower), lower, -np.inf))
    opt.set_ftol_rel(ftol_rel)
    opt.set_xtol_abs(1e-12 if step is not None else 1e-10)
    opt.set_maxeval(BOBYQA_MAXEVAL)
    opt.set_initial_step(np.maximum(0.1 * np.abs(start), 0.05) if step is None else step)

    def objective(x: np.ndarray, grad: np.ndarray) -> float:
        value = devfun(x)
        return value if np.isfinite(value) else 1e300

    opt.set_min_objective(objective)
    x0 = np.maximum(start, lower)
    try:
        x = opt.optimize(x0)
        code = opt.last_optimize_result()
        success, message = code > 0, f"BOBYQA return code {code}"
    except nlopt.RoundoffLimited:
        # Raised when the requested ftol is below what rounding allows: the search
        # has converged as far as the criterion can tell points apart.
        x, success, message = devfun.best_theta, True, "BOBYQA stopped at rounding level"
    except (RuntimeError, ValueError) as exc:
        x, success, message = devfun.best_theta, False, f"BOBYQA failed: {exc}"
    return optimize.OptimizeResult(x=x, success=success, message=message)


def finish(
    devfun: BatchedDeviance,
    lower: np.ndarray,
    start: np.ndarray,
    results: list,
    stages: list[str],
    restart: Callable[[np.ndarray], optimize.OptimizeResult] | None = None,
    restart_name: str = "L-BFGS-B",
    polish: bool = True,
) -> tuple[np.ndarray, float, OptimizerSummary]:
    """The last stages: saddle check, Newton polish, boundary trials; then the record.

    ``stages`` holds what ran before (start and first search), and this adds its
    own. ``restart`` (named ``restart_name``) runs from a point below a saddle,
    L-BFGS-B by default. ``polish=False`` keeps only the boundary trials (for
    models where one solve is costly and the first stage already converged to
    rounding level).
    """
    stages = list(stages)
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    restart = restart or (lambda x0: lbfgsb(devfun, x0, bounds))
    escapes = 0
    for _ in range(3 if polish else 0):
        if devfun.best_theta is None:
            break
        point = escape_saddle(devfun, devfun.best_theta.copy(), lower)
        if point is None:
            break
        results.append(restart(point))
        escapes += 1
    if polish:
        stages.append(
            f"saddle check: {escapes} escape(s) downhill, each followed by {restart_name}"
            if escapes
            else "saddle check"
        )
    if polish and devfun.best_theta is not None:
        counts = dict(devfun.gradients)
        newton_polish(devfun, devfun.best_theta.copy(), lower)
        stages.append(f"Newton polish ({devfun.gradient_kind_since(counts)})")
    # Singular fits sit exactly on the boundary: evaluate it directly, and take it on
    # a tie (Newton steps towards a bound shrink theta_k geometrically: 4e-155 on
    # dietox's null model, the same criterion as 0).
    best = devfun.best_theta.copy() if devfun.best_theta is not None else start
    tried = []
    for k, lo in enumerate(lower):
        if lo == 0.0 and 0.0 < best[k] < BOUNDARY_TRY:
            trial = best.copy()
            trial[k] = 0.0
            devfun.prefer(trial, devfun(trial), rtol=0.0)
            tried.append(k)
    theta = devfun.best_theta if devfun.best_theta is not None else start
    if tried:
        names = ", ".join(f"theta_{k + 1}" for k in tried)
        kept = ", ".join(f"theta_{k + 1}" for k in tried if theta[k] == 0.0) or "none"
        stages.append(f"boundary trial of {names} at 0: {kept} kept")
    criterion = devfun.best_value
    converged = (not results or any(r.success for r in results)) and bool(np.isfinite(criterion))
    summary = OptimizerSummary(
        method="; ".join(stages),
        converged=converged,
        n_evaluations=devfun.evaluations,
        message="; ".join(str(r.message) for r in results) or "Newton steps from the grid",
        theta_start=start,
        theta_final=np.array(theta),
        stages=tuple(stages),
    )
    return np.array(theta), float(criterion), summary
