"""The sum of deviance residuals and glmer's ``aic()`` with their constant parts computed once.

PIRLS evaluates sum d_i at every iterate and the Laplace deviance adds
``aic() = sum d_i - 2 l_sat`` (docs/glmm-design.md 1.1). Both split into a part
that does not depend on mu and a cheap part that does (R's ``dev.resids``,
``stats/R/family.R``):

    binomial  d_i = 2 w [y log y + (1 - y) log(1 - y)] - 2 w [y log mu + (1 - y) log(1 - mu)]
    Poisson   d_i = 2 w [y log y - y]                   - 2 w [y log mu - mu]

(0 log 0 = 0), so each evaluation is two logarithms and two dot products; the
constants come from ``lib.glmm.family`` once, so the values agree with
``Family.dev_resids`` and ``Family.aic`` to rounding.
"""

from __future__ import annotations

import numpy as np

from lib.glmm.family import Family


class DevianceSum:
    """sum d_i(mu) and aic(mu) for one family and response."""

    def __init__(self, family: Family, y: np.ndarray, trials: np.ndarray, weights: np.ndarray):
        self.binomial = family.name == "binomial"
        self.a = weights * y  # coefficient of log mu
        self.b = weights * (1.0 - y) if self.binomial else weights  # of log(1 - mu), or of -mu
        self.any_b = bool(np.any(self.b != 0.0))
        mu0 = np.clip(y, 0.25, 0.75) if self.binomial else y + 0.5
        self.constant = float(family.dev_resids(y, mu0, weights).sum()) - self._variable(mu0)
        self.aic_constant = family.aic(y, trials, mu0, weights) - float(
            family.dev_resids(y, mu0, weights).sum()
        )

    def _variable(self, mu: np.ndarray) -> float:
        if self.binomial:
            out = -2.0 * float(self.a @ np.log(mu))
            if self.any_b:
                out -= 2.0 * float(self.b @ np.log1p(-mu))
            return out
        return -2.0 * (float(self.a @ np.log(mu)) - float(self.b @ mu))

    def __call__(self, mu: np.ndarray) -> float:
        """sum of the deviance residuals at mu."""
        return self.constant + self._variable(mu)

    def aic(self, mu: np.ndarray) -> float:
        """-2 log p(y | mu) with its normalising constants (R's ``family$aic``)."""
        return self(mu) + self.aic_constant
