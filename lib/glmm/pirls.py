"""Penalized iteratively reweighted least squares: lme4's ``pwrssUpdate``.

Bates et al. (2015) sec. 5 and lme4 1.1-31 ``src/external.cpp`` (``pwrssUpdate``,
``internal_glmerWrkIter``). At fixed theta (and, in the u-only form, fixed beta
in the offset) one iteration is a weighted linear mixed-model solve:

    sqrtW = mu.eta(eta) sqrt(w / V(mu))                      (Fisher weights)
    z     = eta - offset + (y - mu) / mu.eta(eta)            (working response)
    (Lambda' Z' W Z Lambda + I) u = Lambda' Z' W z           (u only)
    or the joint system in (u, beta) with [X z] as last block (nAGQ = 0)

The weighted system is the linear engine's, on rows scaled by sqrtW (as lme4's
``updateXwts`` scales X and Z): the rows sqrtW X, sqrtW Z_k, sqrtW z go through
``lib.lmm.stats.model_stats`` and the factor is ``lib.lmm.blocked.BlockedModel``
unchanged; for the u-only solve X has no columns, so the factor's last block
holds only the working response.

Loop rule as lme4: the penalized deviance pdev = sum d_i + |u|^2 of the new
iterate; converged when |pdev_old - pdev| / pdev < tol (checked first, so a tiny
increase also converges); otherwise an increase is halved towards the previous
iterate up to ``MAX_HALVINGS`` times, recomputing mu and pdev only.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from lib.errors import FitError
from lib.glmm.deviance import DevianceSum
from lib.glmm.family import Family
from lib.glmm.reweighted import ReweightedSystem, WeightedSolve
from lib.lmm.blocked import BlockedModel, BlockedSolution
from lib.lmm.stats import model_stats
from lib.lmm.theta import ThetaLayout, split_theta
from lib.model.design import Design

MAX_ITERATIONS = 100  # lme4's maxit in mkGlmerDevfun
MAX_HALVINGS = 20
# Tighter than lme4's default tolPwrss = 1e-7 (the brief's control used 1e-13): the
# Laplace deviance depends on the mode to first order through log|L|^2, so a
# converged mode makes the deviance a smooth function of the parameters.
TOL_PWRSS = 1e-13


@dataclass(frozen=True)
class Response:
    """The response as lme4 holds it (``mkRespMod``).

    Attributes
    ----------
    y : ndarray (n,)
        Proportion of successes (binomial) or count (Poisson).
    weights : ndarray (n,)
        Prior weights: the trials for a binomial with trials, else 1.
    trials : ndarray (n,)
        ``resp$n``: the trials (1 for 0/1 data and for counts).
    offset : ndarray (n,)
    """

    y: np.ndarray
    weights: np.ndarray
    trials: np.ndarray
    offset: np.ndarray


@dataclass(frozen=True, eq=False)
class Mode:
    """PIRLS's result at one theta (and beta).

    Attributes
    ----------
    u : list of ndarray (q, G)
        Spherical conditional modes per term.
    beta : ndarray (p,)
    eta, mu : ndarray (n,)
    ldL2 : float
        log|L|^2 at the weights of the final mu (refreshed after the loop).
    RXt : ndarray (p, p) or None
        The joint form's R_X' at those weights (None for the u-only form).
    iterations : int
    theta : ndarray
    joint : bool
    model, solution
        The linear engine's factor at the final weights (``BlockedModel``,
        ``BlockedSolution``), built on first use: the packaging's condVar needs them,
        the optimisation does not.
    """

    u: list
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    ldL2: float
    RXt: np.ndarray | None
    iterations: int
    theta: np.ndarray
    joint: bool
    pirls: Pirls = dataclasses.field(repr=False)

    @property
    def usq(self) -> float:
        return float(sum((uk * uk).sum() for uk in self.u))

    @functools.cached_property
    def _factor(self) -> tuple[BlockedModel, BlockedSolution]:
        pirls, r = self.pirls, self.pirls.response
        mu, mueta, sqrtW = pirls.weights(self.eta)
        fixed = r.offset if self.joint else r.offset + pirls.design.X @ self.beta
        model = pirls.factor(sqrtW, self.eta - fixed + (r.y - mu) / mueta, self.joint)
        return model, _solve(model, self.theta)

    @property
    def model(self) -> BlockedModel:
        return self._factor[0]

    @property
    def solution(self) -> BlockedSolution:
        return self._factor[1]


class Pirls:
    """PIRLS for one design, family and response; ``run`` at any theta (and beta)."""

    def __init__(self, design: Design, family: Family, response: Response) -> None:
        self.design = design
        self.family = family
        self.response = response
        self.n = design.nobs
        self.no_x = np.empty((self.n, 0))
        self.fill: list[bool] | None = None
        self.layouts = tuple(ThetaLayout(q=t.q, correlated=t.correlated) for t in design.terms)
        self.system = ReweightedSystem(design) if ReweightedSystem.supports(design) else None
        self.deviance = DevianceSum(family, response.y, response.trials, response.weights)
        self.z_ones = [[bool(np.all(t.Z[:, a] == 1.0)) for a in range(t.q)] for t in design.terms]
        self.unit_weights = bool(np.all(response.weights == 1.0))
        self._blocks_key: bytes | None = None
        self._blocks: list[np.ndarray] = []

    def blocks(self, theta: np.ndarray) -> list[np.ndarray]:
        """Each term's T(theta) block, in the design's term order (the last theta's
        kept: one PIRLS run asks for them at every iteration)."""
        key = np.asarray(theta, dtype=float).tobytes()
        if key != self._blocks_key:
            parts = split_theta(theta, self.layouts)
            self._blocks = [lay.block(part) for lay, part in zip(self.layouts, parts, strict=True)]
            self._blocks_key = key
        return self._blocks

    def random_part(self, theta: np.ndarray, u: list) -> np.ndarray:
        """Z Lambda(theta) u per row."""
        out = np.zeros(self.n)
        for T, uk, t, ones in zip(
            self.blocks(theta), u, self.design.terms, self.z_ones, strict=True
        ):
            b = T @ uk  # (q, G)
            for a in range(t.q):
                out += b[a][t.codes] if ones[a] else b[a][t.codes] * t.Z[:, a]
        return out

    def weights(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """mu, mu.eta and sqrtW at eta."""
        fam, w = self.family, self.response.weights
        mu = fam.linkinv(eta)
        mueta = fam.mu_eta(eta)
        return mu, mueta, mueta * np.sqrt(w / fam.variance(mu))

    def factor(self, sqrtW: np.ndarray, z: np.ndarray, joint: bool) -> BlockedModel:
        """The linear engine's factor of the rows scaled by sqrtW."""
        d = self.design
        X = d.X if joint else self.no_x
        weighted = dataclasses.replace(
            d,
            X=np.asfortranarray(sqrtW[:, None] * X),
            y=sqrtW * z,
            fixef_names=d.fixef_names if joint else (),
            terms=tuple(
                dataclasses.replace(t, Z=np.asfortranarray(sqrtW[:, None] * t.Z)) for t in d.terms
            ),
        )
        # Each model is solved once or twice: no precomputed product patterns.
        model = BlockedModel(model_stats(weighted), fill=self.fill, fast_products=False)
        self.fill = model.dense_diag  # the pattern does not depend on the weights
        return model

    def pdev(self, mu: np.ndarray, u: list) -> float:
        return self.deviance(mu) + float(sum((uk * uk).sum() for uk in u))

    def solve(
        self,
        theta: np.ndarray,
        eta: np.ndarray,
        mu: np.ndarray,
        fixed: np.ndarray,
        joint: bool,
        modes: bool = True,
    ) -> WeightedSolve:
        """The weighted penalized least-squares solve at the weights of (eta, mu), with
        working response z = eta - fixed + (y - mu) / mu.eta: the row plan's
        (``lib.glmm.reweighted``) where it applies, else the linear engine's factor.
        ``modes`` False: only the factor is wanted (log|L|^2, R_X); ``u`` may be None."""
        fam, r = self.family, self.response
        mueta = fam.mu_eta(eta)
        if self.system is not None:
            try:
                with np.errstate(all="ignore"):
                    # W = mu.eta^2 w / V(mu); W z = W (eta - fixed) + (y - mu) W / mu.eta.
                    w_over = mueta / fam.variance(mu)
                    if not self.unit_weights:
                        w_over *= r.weights
                    w = mueta * w_over
                    wz = w * (eta - fixed) + (r.y - mu) * w_over if modes else None
                    s = self.system.solve(self.blocks(theta), w, wz, joint)
            except (np.linalg.LinAlgError, sla.LinAlgError, ValueError) as exc:
                raise FitError("The weighted penalized least-squares system is singular.") from exc
            if not np.isfinite(s.ldL2):
                raise FitError("The weighted penalized least-squares system is singular.")
            return s
        sqrtW = mueta * np.sqrt(r.weights / fam.variance(mu))
        model = self.factor(sqrtW, eta - fixed + (r.y - mu) / mueta, joint)
        sol = _solve(model, theta)
        u = model.spherical_modes(sol)
        return WeightedSolve(sol.ldL2, u, sol.beta if joint else None, sol.RXt if joint else None)

    def run(
        self,
        theta: np.ndarray,
        u0: list,
        beta: np.ndarray,
        joint: bool,
        eta0: np.ndarray | None = None,
        tol: float = TOL_PWRSS,
    ) -> Mode:
        """PIRLS from (u0, beta) (or from ``eta0``, lme4's start from mustart).

        ``joint``: solve for (u, beta) together (nAGQ = 0); otherwise beta is fixed
        in the offset and only u is solved for (the Laplace stage).
        """
        theta = np.asarray(theta, dtype=float)
        r, X = self.response, self.design.X
        u_old = [np.array(uk, dtype=float) for uk in u0]
        beta_old = np.array(beta, dtype=float)
        if eta0 is None:
            eta = r.offset + X @ beta_old + self.random_part(theta, u_old)
        else:
            eta = np.asarray(eta0, dtype=float)
        pdev_old = np.inf
        converged = False
        mu = self.family.linkinv(eta)
        fixed_beta = r.offset + X @ beta_old  # beta in the offset (u-only form)
        for iterations in range(1, MAX_ITERATIONS + 2):
            fixed = r.offset if joint else fixed_beta
            sol = self.solve(theta, eta, mu, fixed, joint, modes=not converged)
            if converged:
                # The factor at the final mu's weights (lme4 keeps the previous
                # iterate's, 1.2 of docs/glmm-design.md): the deviance is then a
                # smooth function of theta.
                return Mode(
                    u_old, beta_old, eta, mu, sol.ldL2, sol.RXt, iterations - 1, theta, joint, self
                )
            if iterations > MAX_ITERATIONS:
                break
            u_new = sol.u
            beta_new = sol.beta if joint else beta_old
            fixed_new = r.offset + X @ beta_new if joint else fixed_beta
            eta_new = fixed_new + self.random_part(theta, u_new)
            mu_new = self.family.linkinv(eta_new)
            pdev = self.pdev(mu_new, u_new)
            if abs(pdev_old - pdev) / pdev < tol:
                u_old, beta_old, eta, mu = u_new, beta_new, eta_new, mu_new
                converged = True
                continue
            halvings = 0
            while not pdev <= pdev_old:  # also catches NaN
                halvings += 1
                if halvings > MAX_HALVINGS:
                    raise FitError(
                        "PIRLS step-halvings failed to reduce deviance (lme4's message)."
                    )
                u_new = [(a + b) / 2.0 for a, b in zip(u_old, u_new, strict=True)]
                beta_new = (beta_old + beta_new) / 2.0
                eta_new = r.offset + X @ beta_new + self.random_part(theta, u_new)
                mu_new = self.family.linkinv(eta_new)
                pdev = self.pdev(mu_new, u_new)
            u_old, beta_old, eta, mu, pdev_old = u_new, beta_new, eta_new, mu_new, pdev
        raise FitError(f"PIRLS did not converge in {MAX_ITERATIONS} iterations (lme4's limit).")


def joint_solution(pirls: Pirls, mode: Mode, theta: np.ndarray) -> BlockedSolution | WeightedSolve:
    """The joint (u, beta) factor at the mode's weights: its R_X (``RXt``) gives glmer's
    ``vcov(use.hessian = FALSE)`` (beta's covariance given theta)."""
    r = pirls.response
    if pirls.system is not None:
        return pirls.solve(theta, mode.eta, mode.mu, r.offset, joint=True, modes=False)
    mu, mueta, sqrtW = pirls.weights(mode.eta)
    model = pirls.factor(sqrtW, mode.eta - r.offset + (r.y - mu) / mueta, joint=True)
    return _solve(model, theta)


def _solve(model: BlockedModel, theta: np.ndarray) -> BlockedSolution:
    try:
        with np.errstate(all="ignore"):
            sol = model.solve(theta)
    except (np.linalg.LinAlgError, sla.LinAlgError, ValueError) as exc:
        raise FitError("The weighted penalized least-squares system is singular.") from exc
    if not np.isfinite(sol.ldL2):
        raise FitError("The weighted penalized least-squares system is singular.")
    return sol
