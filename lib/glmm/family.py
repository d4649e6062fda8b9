"""The response families of a GLMM: binomial (logit, probit, cloglog) and Poisson (log).

What R's ``binomial()`` / ``poisson()`` family objects hold (``stats/R/family.R``),
with the inverse links, ``mu.eta`` and variance clamped as lme4's own C++ family
code clamps them (``src/glmFamily.cpp``, eps = DBL_EPSILON), since those clamps
decide what glmer does under (quasi-)separation:

* logit:   mu = clamp(plogis(eta), eps, 1 - eps),  mu.eta = max(eps, dlogis(eta))
* probit:  mu = min(1 - eps, pnorm(eta)),           mu.eta = dnorm(eta)
* cloglog: mu = clamp(-expm1(-exp(eta)), eps, 1 - eps), mu.eta = max(eps, exp(eta - exp(eta)))
* log:     mu = mu.eta = max(eps, exp(eta))
* binomial variance max(eps, mu (1 - mu)); Poisson variance mu.

``aic`` is R's ``family$aic``: -2 log p(y | mu) including the normalising
constants (``lchoose`` for the binomial, ``lgamma(y + 1)`` for the Poisson); the
Laplace deviance adds it (``glmResp::Laplace``, ``src/respModule.cpp``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from lib.errors import SpecError

EPS = float(np.finfo(float).eps)
SQRT_2PI = float(np.sqrt(2.0 * np.pi))


def _xlogy_ratio(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """y log(y / mu) with 0 log 0 = 0 (R's ``y_log_y`` in ``family.c``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)


@dataclass(frozen=True)
class Family:
    """One family with one link; every function works elementwise on arrays.

    Attributes
    ----------
    name : str
        ``"binomial"`` or ``"poisson"``.
    link : str
        ``"logit"``, ``"probit"``, ``"cloglog"`` (binomial) or ``"log"`` (Poisson).
    """

    name: str
    link: str

    def __post_init__(self) -> None:
        allowed = {"binomial": ("logit", "probit", "cloglog"), "poisson": ("log",)}
        if self.name not in allowed:
            raise SpecError(f"Unknown family {self.name!r}: use 'binomial' or 'poisson'.")
        if self.link not in allowed[self.name]:
            raise SpecError(
                f"The {self.name} family takes the link "
                + " or ".join(repr(x) for x in allowed[self.name])
                + f", not {self.link!r}."
            )

    @property
    def canonical(self) -> bool:
        """Whether the Fisher weights equal the observed information (logit, log)."""
        return self.link in ("logit", "log")

    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        mu = np.asarray(mu, dtype=float)
        if self.link == "logit":
            return special.logit(mu)
        if self.link == "probit":
            return special.ndtri(mu)
        if self.link == "cloglog":
            return np.log(-np.log1p(-mu))
        return np.log(mu)

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        eta = np.asarray(eta, dtype=float)
        if self.link == "logit":
            return np.clip(special.expit(eta), EPS, 1.0 - EPS)
        if self.link == "probit":
            return np.minimum(1.0 - EPS, special.ndtr(eta))
        if self.link == "cloglog":
            with np.errstate(over="ignore"):
                return np.clip(-np.expm1(-np.exp(eta)), EPS, 1.0 - EPS)
        with np.errstate(over="ignore"):
            return np.maximum(EPS, np.exp(eta))

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        """d mu / d eta."""
        eta = np.asarray(eta, dtype=float)
        if self.link == "logit":
            # dlogis(eta) = e / (1 + e)^2 with e = exp(-|eta|) (no overflow).
            e = np.exp(-np.abs(eta))
            return np.maximum(EPS, e / (1.0 + e) ** 2)
        if self.link == "probit":
            return np.exp(-0.5 * eta * eta) / SQRT_2PI
        with np.errstate(over="ignore"):
            if self.link == "cloglog":
                return np.maximum(EPS, np.exp(eta - np.exp(eta)))
            return np.maximum(EPS, np.exp(eta))

    def variance(self, mu: np.ndarray) -> np.ndarray:
        mu = np.asarray(mu, dtype=float)
        if self.name == "binomial":
            return np.maximum(EPS, mu * (1.0 - mu))
        return mu

    def dev_resids(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Squared deviance residuals d_i (R's ``dev.resids``)."""
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        if self.name == "binomial":
            return 2.0 * wt * (_xlogy_ratio(y, mu) + _xlogy_ratio(1.0 - y, 1.0 - mu))
        return 2.0 * wt * (_xlogy_ratio(y, mu) - (y - mu))

    def aic(self, y: np.ndarray, n: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> float:
        """R's ``family$aic(y, n, mu, wt, dev)``: -2 log p(y | mu) with its constants.

        Binomial: ``m = n`` if any n > 1 else ``wt``, and
        -2 sum (wt/m) log dbinom(round(m y), round(m), mu); Poisson:
        -2 sum wt log dpois(y, mu).
        """
        y, n, mu, wt = (np.asarray(a, dtype=float) for a in (y, n, mu, wt))
        if self.name == "binomial":
            m = n if np.any(n > 1) else wt
            mm = np.round(m)
            logp = stats.binom.logpmf(np.round(m * y), mm, mu)
            share = np.divide(wt, m, out=np.zeros_like(wt), where=m > 0)
            return float(-2.0 * np.sum(share * logp))
        return float(-2.0 * np.sum(wt * stats.poisson.logpmf(y, mu)))

    def mustart(self, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """R's ``family$initialize`` start for mu (glm's and glmer's)."""
        if self.name == "binomial":
            return (wt * y + 0.5) / (wt + 1.0)
        return y + 0.1


def family(name: str, link: str | None = None) -> Family:
    """``binomial()`` / ``poisson()`` with their default links (logit, log)."""
    default = {"binomial": "logit", "poisson": "log"}
    if name not in default:
        raise SpecError(f"Unknown family {name!r}: use 'binomial' or 'poisson'.")
    return Family(name, link or default[name])
