"""glmer's Laplace deviance (nAGQ = 1) and its nAGQ = 0 form, as functions of the parameters.

lme4 1.1-31 ``glmResp::Laplace`` (``src/respModule.cpp``), docs/glmm-design.md 1.2:

    fval = log|L|^2 + |u|^2 + aic(y | mu),    L L' = Lambda' Z' W Z Lambda + I

at the conditional mode u, with W the Fisher weights of ``lib.glmm.pirls`` and
``aic`` the family's -2 log p(y | mu) with its normalising constants, so that
logLik = -fval / 2 is glmer's. There is no log|R_X|^2 term, also not for nAGQ = 0.

Stage 1 (nAGQ = 0) is a function of theta: PIRLS solves for (u, beta) jointly.
Stage 2 (nAGQ = 1) is a function of (theta, beta): beta sits in the offset and
PIRLS solves for u alone. Every evaluation starts from the same modes (lme4's
``lp0``: the initial PIRLS, then the end of stage 1), so the value does not
depend on the order of evaluations.
"""

from __future__ import annotations

import numpy as np

from lib.errors import FitError
from lib.glmm.pirls import Mode, Pirls


def laplace_value(pirls: Pirls, mode: Mode) -> float:
    """log|L|^2 + |u|^2 + aic at a PIRLS mode (the factor at the mode's weights)."""
    r = pirls.response
    aic = pirls.family.aic(r.y, r.trials, mode.mu, r.weights)
    return float(mode.ldL2 + mode.usq + aic)


def laplace_fast(pirls: Pirls, mode: Mode) -> float:
    """``laplace_value`` with aic from its precomputed constant (``lib.glmm.deviance``):
    equal to rounding, for the optimiser's many evaluations."""
    return float(mode.ldL2 + mode.usq + pirls.deviance.aic(mode.mu))


class LaplaceObjective:
    """The deviance of one stage; PIRLS starts from the modes of the best point so far.

    lme4 restarts every evaluation from the same modes (``lp0``); PIRLS converged
    to 1e-13 ends at the same mode from any nearby start, so starting from the
    modes of the lowest deviance evaluated so far (where the optimiser's trust
    region is centred) gives the same values to rounding in fewer iterations
    (docs/glmm-design.md 3.3: a warm start is allowed).

    Parameters
    ----------
    pirls : Pirls
    start : Mode
        The modes the first evaluation starts from (lme4's ``lp0``).
    n_theta : int
        Length of theta; in stage 2 the parameters are (theta, beta).
    joint : bool
        Stage 1 (True: parameters are theta, PIRLS over u and beta) or stage 2.
    """

    def __init__(self, pirls: Pirls, start: Mode, n_theta: int, joint: bool) -> None:
        self.pirls = pirls
        self.start = start
        self.n_theta = n_theta
        self.joint = joint
        self.warm = start
        self.warm_value = np.inf

    def mode(self, params: np.ndarray, u0: list | None = None) -> Mode:
        """PIRLS's mode at ``params``, from ``u0`` (default: the best point's modes)."""
        params = np.asarray(params, dtype=float)
        theta = params[: self.n_theta]
        beta = self.warm.beta if self.joint else params[self.n_theta :]
        return self.pirls.run(theta, self.warm.u if u0 is None else u0, beta, joint=self.joint)

    def value(self, params: np.ndarray, mode: Mode) -> float:
        """The deviance at a mode of ``params``."""
        return laplace_fast(self.pirls, mode)

    def evaluate(self, params: np.ndarray, u0: list | None = None) -> tuple[float, Mode | None]:
        """The deviance and the mode (inf and None where PIRLS fails), PIRLS from ``u0``."""
        try:
            mode = self.mode(params, u0)
        except FitError:
            return np.inf, None
        value = self.value(params, mode)
        if value < self.warm_value:
            self.warm, self.warm_value = mode, value
        return value, mode

    def __call__(self, params: np.ndarray) -> float:
        return self.evaluate(params)[0]

    def many(self, params: np.ndarray) -> np.ndarray:
        """Values at each row of ``params`` (B, k): the batched form numderiv takes."""
        return np.array([self(row) for row in np.atleast_2d(params)])
