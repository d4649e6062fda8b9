"""Profile-likelihood confidence intervals, as lme4's ``confint(method = "profile")``.

lme4 (``R/profile.R``): ``profile()`` refits a REML model by ML and, for each
parameter on the scale of SDs, correlations, sigma and fixed effects (see
``lib.lmm.parameters``), computes the signed root of the deviance difference

    zeta(v) = sign(v - v_hat) sqrt(min_{others} D(v, others) - D_hat)

and ``confint`` finds where it crosses -+qnorm((1 + level) / 2) by a spline
through sampled points; where a profile reaches the parameter's bound (an SD at
0, a correlation at +-1) first, the bound is the limit. Here the crossing is
found directly, by secant steps on zeta with each minimisation warm-started
from the last:

- a fixed effect beta_j = b: x_j b moves into the outcome and column j leaves X
  (only the statistics that involve y change: Z'y, X'y, y'y); the ML criterion
  of that model is the deviance profiled over theta, sigma and the other betas,
  minimised over theta with the exact gradient (``lib.lmm.gradient``);
- an SD, correlation or sigma: the ML deviance at (theta, sigma),
  log|L|^2 + n log(2 pi sigma^2) + r^2(theta) / sigma^2, minimised over the other
  profile-scale parameters; its gradient is the exact theta-gradient times the
  (cheap, solve-free) Jacobian of theta in those parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, special

from lib.lmm import blas
from lib.lmm.blocked import BlockedModel
from lib.lmm.gradient import blocked_parts, one_term_parts
from lib.lmm.objective import LOG_2PI, sigma_hat
from lib.lmm.oneterm import OneTermModel
from lib.lmm.optimize import BatchedDeviance, bobyqa, newton_polish
from lib.lmm.parameters import (
    ScaleParameter,
    phi_from_theta,
    scale_parameters,
    thetas_from_phis,
)
from lib.lmm.search import blocked_search, one_term_search
from lib.lmm.stats import ModelStats

ZETA_TOL = 2e-4  # |zeta - target|: about 1e-4 of the interval's half width
MAX_STEPS = 40
COR_EDGE = 1.0 - 1e-7
NEWTON_ITER = 30
BOBYQA_FTOL = 1e-10  # relative: 2e-5 in a deviance of 2e5 moves zeta near 1.96 by 6e-6


@dataclass(frozen=True)
class ProfileBound:
    """One parameter's profile interval (on lme4's profile scale)."""

    effect: str  # "fixed" or "ran_pars"
    group: str | None
    term: str
    ml_estimate: float
    lower: float
    upper: float
    evaluations: int


def normal_quantile(level: float) -> float:
    """qnorm((1 + level) / 2)."""
    return float(-special.ndtri((1.0 - level) / 2.0))


def _model(stats: ModelStats) -> OneTermModel | BlockedModel:
    return OneTermModel(stats) if len(stats.terms) == 1 else BlockedModel(stats)


def _parts(model, thetas: np.ndarray):  # noqa: ANN001, ANN202
    if isinstance(model, OneTermModel):
        return one_term_parts(model, thetas, False)
    return blocked_parts(model, thetas, False)


class Profiler:
    """The ML fit and the profiles of one model's statistics."""

    def __init__(self, stats: ModelStats, start: np.ndarray | None = None) -> None:
        self.stats = stats
        self.model = _model(stats)
        self.layouts = stats.layouts
        self.n, self.p = stats.nobs, stats.p
        # Below ~1,000 levels a batch of thetas costs about one solve (search.py).
        self.cheap = isinstance(self.model, OneTermModel) and self.model.ngroups * 9 <= 10_000
        # Crossed factors (a dense diagonal block): the exact gradient needs the
        # diagonal blocks of the inverse factor, which costs many solves (InstEval:
        # dense 1,128 x 2,972 triangular solves); BOBYQA on solves alone, as lme4's
        # profile. Nested factors keep the cheap gradient and Newton steps.
        self.derivative_free = isinstance(self.model, BlockedModel) and any(
            self.model.dense_diag
        )
        theta, dev = self._ml_fit(start)
        self.theta = np.asarray(theta, float)
        self.deviance = float(dev)
        sol = self.model.solve(self.theta)
        self.sigma = sigma_hat(sol.pwrss, self.n, self.p, False)
        self.beta = sol.beta
        self.phi = phi_from_theta(self.theta, self.sigma, self.layouts)
        self.params = scale_parameters(stats.terms, self.layouts)
        self.evaluations = 0

    def _wald_se(self) -> np.ndarray:
        """Standard errors on the profile scale from the ML deviance's Hessian in phi
        (cov = 2 H^-1), by central differences once; NaN where it is not positive
        definite. Only the profiles' first steps use them."""
        if getattr(self, "_se", None) is not None:
            return self._se
        k = self.phi.size
        h = 1e-4 * np.maximum(np.abs(self.phi), 1e-2 * self.sigma)
        eye = np.diag(h)
        points = [self.phi]
        for i in range(k):
            points += [self.phi + eye[i], self.phi - eye[i]]
            for j in range(i):
                points += [self.phi + eye[i] + eye[j], self.phi - eye[i] - eye[j]]
        values = self._phi_batch(np.array(points), False)[0]
        f0, at, H = values[0], 1, np.zeros((k, k))
        single = {}
        for i in range(k):
            fp, fm = values[at], values[at + 1]
            at += 2
            H[i, i] = (fp - 2.0 * f0 + fm) / h[i] ** 2
            single[i] = (fp, fm)
            for j in range(i):
                up, down = values[at], values[at + 1]
                at += 2
                H[i, j] = H[j, i] = (
                    up + down - 2.0 * f0 - H[i, i] * h[i] ** 2 - H[j, j] * h[j] ** 2
                ) / (2.0 * h[i] * h[j])
        self._se = np.full(k, np.nan)
        if np.all(np.isfinite(H)):
            try:
                cov = 2.0 * np.linalg.inv(H)
            except np.linalg.LinAlgError:
                return self._se
            if np.all(np.linalg.eigvalsh(H) > 0):
                self._se = np.sqrt(np.diag(cov))
        return self._se

    @staticmethod
    def _step(x: np.ndarray) -> np.ndarray:
        """BOBYQA's first trust-region radius from a warm start: a small move."""
        return np.maximum(0.02 * np.abs(x), 1e-3 * max(1.0, float(np.max(np.abs(x)))))

    def _ml_fit(self, start: np.ndarray | None) -> tuple[np.ndarray, float]:
        """The ML optimum (lme4's profile() refits a REML fit by ML): Newton steps from
        ``start`` (the REML theta: close) where given and they converge, else the
        fit's own search."""
        model, n, p = self.model, self.n, self.p
        if start is not None and self.derivative_free:
            devfun = BatchedDeviance(lambda thetas: model.criteria(thetas, False))
            lower = np.concatenate([lay.lower_bounds for lay in self.layouts])
            x0 = np.maximum(np.asarray(start, float), lower)
            bobyqa(devfun, x0, lower, step=self._step(x0), ftol_rel=BOBYQA_FTOL)
            return devfun.best_theta, devfun.best_value
        if start is not None:

            def with_gradients(thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                parts = _parts(model, thetas)
                return parts.criteria(n, p, False), parts.gradients(n, p, False)

            devfun = BatchedDeviance(
                lambda thetas: model.criteria(thetas, False), with_gradients, self.cheap
            )
            lower = np.concatenate([lay.lower_bounds for lay in self.layouts])
            x, converged = newton_polish(devfun, np.asarray(start, float), lower, NEWTON_ITER)
            if converged and np.isfinite(devfun.best_value):
                return devfun.best_theta, devfun.best_value
        if isinstance(model, OneTermModel):
            theta, dev, _ = one_term_search(model, False)
        else:
            theta, dev, _ = blocked_search(model, self.stats, False)
        return theta, dev

    # -- the deviance on the profile scale ---------------------------------------------

    def _phi_bounds(self) -> list:
        out = []
        for par in self.params:
            if par.kind == "cor":
                out.append((-COR_EDGE, COR_EDGE))
            elif par.kind == "sigma":
                out.append((1e-8 * self.sigma, None))
            else:
                out.append((0.0, None))
        return out

    def _theta_jacobians(self, phis: np.ndarray) -> np.ndarray:
        """d theta / d phi at each row of ``phis`` (B, k) by central differences of the
        (solve-free) map, all points in one call; shape (B, len(theta), k)."""
        B, k = phis.shape
        kinds = [par.kind for par in self.params]
        scale = np.array([1e-3 if kind == "cor" else 1e-3 * self.sigma for kind in kinds])
        h = 1e-6 * np.maximum(np.abs(phis), scale)  # (B, k)
        up = np.repeat(phis[:, None, :], k, axis=1)
        down = up.copy()
        idx = np.arange(k)
        up[:, idx, idx] += h
        down[:, idx, idx] -= h
        cor = np.array([kind == "cor" for kind in kinds])
        sd = np.array([kind == "sd" for kind in kinds])
        up[:, idx[cor], idx[cor]] = np.minimum(up[:, idx[cor], idx[cor]], COR_EDGE)
        down[:, idx[cor], idx[cor]] = np.maximum(down[:, idx[cor], idx[cor]], -COR_EDGE)
        down[:, idx[sd], idx[sd]] = np.maximum(down[:, idx[sd], idx[sd]], 0.0)
        tu = thetas_from_phis(up.reshape(B * k, k), self.layouts).reshape(B, k, -1)
        td = thetas_from_phis(down.reshape(B * k, k), self.layouts).reshape(B, k, -1)
        width = up[:, idx, idx] - down[:, idx, idx]  # (B, k)
        return np.transpose((tu - td) / width[:, :, None], (0, 2, 1))

    def _phi_batch(self, phis: np.ndarray, gradients: bool):  # noqa: ANN202
        """ML deviances (and phi-gradients) at rows of full phi vectors, one batched solve."""
        B = phis.shape[0]
        values = np.full(B, np.inf)
        grads = np.zeros_like(phis)
        thetas = thetas_from_phis(phis, self.layouts)
        ok = [b for b in range(B) if np.all(np.isfinite(thetas[b])) and phis[b, -1] > 0]
        if not ok:
            return values, grads
        self.evaluations += len(ok)
        parts = _parts(self.model, thetas[ok])
        jacobians = self._theta_jacobians(phis[ok]) if gradients else None
        for row, b in enumerate(ok):
            ldL2, r2, sigma = float(parts.ldL2[row]), float(parts.pwrss[row]), phis[b, -1]
            if not (np.isfinite(ldL2) and r2 > 0):
                continue
            values[b] = ldL2 + self.n * (LOG_2PI + np.log(sigma**2)) + r2 / sigma**2
            if not gradients:
                continue
            if not bool(parts.exact[row]):
                # a variance at 0 with several terms: no exact gradient; NaN makes
                # BatchedDeviance take central differences of the deviance instead
                grads[b] = np.nan
                continue
            d_theta = parts.dlogdet[row] + parts.dr2[row] / sigma**2
            J = jacobians[row]
            if not np.all(np.isfinite(J)):
                grads[b] = np.nan
                continue
            grads[b] = d_theta @ J
            grads[b, -1] += 2.0 * self.n / sigma - 2.0 * r2 / sigma**3
        return values, grads

    def _profile_phi(self, index: int, value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        """min over the other phi of the deviance with phi[index] = value: projected
        Newton steps from the warm start (one batched solve per Hessian), L-BFGS-B
        if they do not converge."""
        free = np.array([c for c in range(self.phi.size) if c != index])
        bounds = [self._phi_bounds()[c] for c in free]
        lower = np.array([b[0] for b in bounds])
        newton_lower = np.where(lower == 0.0, 0.0, -np.inf)

        def full(xs: np.ndarray) -> np.ndarray:
            phis = np.empty((xs.shape[0], self.phi.size))
            phis[:, free] = xs
            phis[:, index] = value
            return phis

        def evaluate(xs: np.ndarray) -> np.ndarray:
            return self._phi_batch(full(xs), False)[0]

        def with_gradients(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            values, grads = self._phi_batch(full(xs), True)
            return values, grads[:, free]

        x0 = np.clip(start[free], lower, [b[1] or np.inf for b in bounds])
        if self.derivative_free:
            devfun = BatchedDeviance(evaluate)
            res = bobyqa(devfun, x0, lower, step=self._step(x0), ftol_rel=BOBYQA_FTOL)
            return float(devfun.best_value), full(devfun.best_theta[None, :])[0]
        devfun = BatchedDeviance(evaluate, with_gradients, cheap_batches=self.cheap)
        x, converged = newton_polish(devfun, x0, newton_lower, max_iter=NEWTON_ITER)
        if converged and np.isfinite(devfun.best_value):
            return float(devfun.best_value), full(devfun.best_theta[None, :])[0]

        def f(x: np.ndarray) -> tuple[float, np.ndarray]:
            return devfun.value_and_gradient(x)

        res = optimize.minimize(
            f, x, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 500},
        )  # fmt: skip
        return float(res.fun), full(res.x[None, :])[0]

    # -- fixed effects -------------------------------------------------------------------

    def _fixed_model(self, j: int):  # noqa: ANN202
        """The model without column j, and a function b -> that model with x_j b moved
        into the outcome (only the statistics of y change)."""
        st = self.stats
        keep = [c for c in range(self.p) if c != j]
        terms0 = tuple(replace(t, ZtX=t.ZtX[:, keep, :]) for t in st.terms)
        base = replace(st, terms=terms0, XtX=st.XtX[np.ix_(keep, keep)], Xty=st.Xty[keep])
        blocked = None if len(st.terms) == 1 else BlockedModel(base)

        def at(b: float):  # noqa: ANN202
            terms = tuple(
                replace(t0, Zty=t.Zty - t.ZtX[:, j, :] * b)
                for t0, t in zip(terms0, st.terms, strict=True)
            )
            xty = (st.Xty - st.XtX[:, j] * b)[keep]
            yty = st.yty - 2.0 * b * st.Xty[j] + b * b * st.XtX[j, j]
            if blocked is None:
                return OneTermModel(replace(base, terms=terms, Xty=xty, yty=yty))
            for k, t in enumerate(terms):
                blocked.xA[k][-1] = t.Zty.T.reshape(-1)
            blocked.Xty, blocked.yty = xty, yty
            return blocked

        return at

    def _profile_fixed(self, at, value: float, start: np.ndarray) -> tuple[float, np.ndarray]:  # noqa: ANN001
        """min over theta of the ML criterion with beta_j = value (Newton steps from
        the warm start, L-BFGS-B if they do not converge)."""
        model = at(value)
        lower = np.concatenate([lay.lower_bounds for lay in self.layouts])
        n, p = self.n, self.p - 1

        def with_gradients(thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            self.evaluations += thetas.shape[0]
            parts = _parts(model, thetas)
            return parts.criteria(n, p, False), parts.gradients(n, p, False)

        def evaluate(thetas: np.ndarray) -> np.ndarray:
            self.evaluations += thetas.shape[0]
            return model.criteria(thetas, False)

        if self.derivative_free:
            devfun = BatchedDeviance(evaluate)
            x0 = np.maximum(np.asarray(start, float), lower)
            bobyqa(devfun, x0, lower, step=self._step(x0), ftol_rel=BOBYQA_FTOL)
            return float(devfun.best_value), devfun.best_theta.copy()
        devfun = BatchedDeviance(evaluate, with_gradients, cheap_batches=self.cheap)
        x, converged = newton_polish(devfun, np.asarray(start, float), lower, max_iter=NEWTON_ITER)
        if converged and np.isfinite(devfun.best_value):
            return float(devfun.best_value), devfun.best_theta.copy()
        bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]

        def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
            values, grads = with_gradients(theta[None, :])
            if not np.all(np.isfinite(grads[0])):
                return float(values[0]), _criterion_differences(model, theta, lower, n, p)
            return float(values[0]), grads[0]

        res = optimize.minimize(
            f, x, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 500},
        )  # fmt: skip
        return float(res.fun), res.x

    # -- the crossing ----------------------------------------------------------------------

    def _crossing(self, profile, estimate: float, start, direction: int, z: float,
                  step: float, bound: float | None) -> float:  # fmt: skip
        """Where zeta crosses direction * z, or the bound if it does not first.

        Secant steps on zeta (nearly linear in v), kept within the bracket once the
        crossing is bracketed; each minimisation starts from the last one inside.
        """
        target = direction * z
        inside = [(estimate, 0.0)]  # (v, zeta) with |zeta| < z, last two kept
        x_in = start
        outside = None
        v = estimate + direction * step
        last = (estimate, 0.0)
        for _ in range(MAX_STEPS):
            if bound is not None and direction * (v - bound) >= 0:
                v = bound
            dev, x = profile(v, x_in)
            zeta = direction * np.sqrt(max(dev - self.deviance, 0.0))
            if abs(zeta - target) < ZETA_TOL:
                return float(v)
            if direction * (zeta - target) > 0:
                outside = (v, zeta)
            else:
                if bound is not None and v == bound:
                    return float(bound)
                inside = [inside[-1], (v, zeta)]
                x_in = x
            a, za = inside[-1]
            if outside is not None:
                b, zb = outside
                # secant through the last two points, else regula falsi in the bracket
                (v1, z1), (v2, z2) = last, (v, zeta)
                v_new = v2 + (target - z2) * (v2 - v1) / (z2 - z1) if z2 != z1 else np.nan
                lo, hi = min(a, b), max(a, b)
                if not (lo < v_new < hi):
                    v_new = a + (target - za) * (b - a) / (zb - za)
                    v_new = v_new if lo < v_new < hi else 0.5 * (a + b)
            else:
                (v1, z1), (v2, z2) = inside
                slope = (z2 - z1) / (v2 - v1)
                limit = 4.0 * abs(v2 - v1)
                if slope * direction > 0:
                    v_new = v2 + np.clip((target - z2) / slope, -limit, limit)
                else:
                    v_new = v2 + direction * limit
            last = (v, zeta)
            v = v_new
        return float("nan")

    def intervals(self, level: float = 0.95) -> list[ProfileBound]:
        """Every parameter's interval: SDs and correlations, sigma, then fixed effects."""
        with blas.single_thread():  # L-BFGS-B's BLAS calls on tiny arrays: threads only cost
            return self._intervals(level)

    def _intervals(self, level: float) -> list[ProfileBound]:
        z = normal_quantile(level)
        out = []
        for index, par in enumerate(self.params):
            out.append(self._scale_interval(index, par, z))
        vcov_ml = self.sigma**2 * self._unscaled_vcov()
        for j, name in enumerate(self.stats.fixef_names):
            at = self._fixed_model(j)
            se = float(np.sqrt(vcov_ml[j, j]))
            count = self.evaluations
            ends = [
                self._crossing(
                    lambda v, x, at=at: self._profile_fixed(at, v, x),
                    float(self.beta[j]), self.theta, d, z, z * se, None,
                )
                for d in (-1, 1)
            ]  # fmt: skip
            out.append(ProfileBound("fixed", None, name, float(self.beta[j]), *ends,
                                    self.evaluations - count))  # fmt: skip
        return out

    def _unscaled_vcov(self) -> np.ndarray:
        from lib.lmm.objective import unscaled_vcov

        return unscaled_vcov(self.model.solve(self.theta).RXt)

    def _scale_interval(self, index: int, par: ScaleParameter, z: float) -> ProfileBound:
        estimate = float(self.phi[index])
        count = self.evaluations
        if par.kind == "cor":
            step, bounds = 0.2, (-COR_EDGE, COR_EDGE)
        elif par.kind == "sigma":
            step, bounds = z * estimate / np.sqrt(2.0 * self.n), (1e-8 * self.sigma, None)
        else:
            step = 0.5 * estimate if estimate > 1e-3 * self.sigma else 0.1 * self.sigma
            bounds = (0.0, None)
        se = self._wald_se()[index]
        if np.isfinite(se) and se > 0 and par.kind != "cor":
            # The quadratic approximation's crossing: the secant then needs 2-3 points.
            step = z * se
        ends = []
        for d, bound in zip((-1, 1), bounds, strict=True):
            if bound is not None and estimate == bound:
                ends.append(bound)
                continue
            v = self._crossing(
                lambda v, x: self._profile_phi(index, v, x),
                estimate, self.phi, d, z, min(step, abs(estimate - bound)) if bound is not None
                and d < 0 else step, bound,
            )  # fmt: skip
            ends.append(_outer_bound(par, v, d))
        return ProfileBound("ran_pars", par.group, par.name, estimate, *ends,
                            self.evaluations - count)  # fmt: skip


def _outer_bound(par: ScaleParameter, value: float, direction: int) -> float:
    """A correlation profile that ends at +-1 gives +-1 (lme4's lower/upper attributes)."""
    if par.kind == "cor" and abs(value) >= COR_EDGE:
        return float(direction)
    return value


def _criterion_differences(model, theta, lower, n, p) -> np.ndarray:  # noqa: ANN001
    g = np.zeros(theta.size)
    for c in range(theta.size):
        h = 1e-6 * max(abs(theta[c]), 1e-3)
        up, down = theta.copy(), theta.copy()
        up[c] += h
        down[c] = max(down[c] - h, lower[c])
        vals = model.criteria(np.vstack([up, down]), False)
        g[c] = (vals[0] - vals[1]) / (up[c] - down[c])
    return g
