"""From statistics to the optimum: lme4's ``mkLmerDevfun`` + ``optimizeLmer`` steps.

Two factors give the criterion (``lib.lmm.objective``) and the same ``Optimum``:

- one term: ``oneterm.OneTermModel``, every solve batched across levels and
  thetas, searched by ``search.one_term_search``;
- several terms: the blocked Cholesky factor ``blocked.BlockedModel``, one theta
  at a time, searched by ``search.blocked_search``.

Everything at the optimum (beta, vcov, modes, conditional variances,
Satterthwaite's inputs) is read off either factor by the one function
``at_optimum``. The search and Satterthwaite share the factor's gradient
function, which keeps its last call: the search's last Newton step evaluates
the gradients on the stencil around the optimum that Satterthwaite's df need
(``numderiv.gradient_stencil``), so that solve is not done twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lib.errors import FitError
from lib.lmm.blocked import BlockedModel
from lib.lmm.gradient import GradientParts, blocked_parts, one_term_parts
from lib.lmm.objective import sigma_hat, unscaled_vcov
from lib.lmm.oneterm import OneTermModel
from lib.lmm.optsummary import OptimizerSummary
from lib.lmm.satterthwaite import SatterthwaiteInputs, satterthwaite_inputs
from lib.lmm.search import SearchResult, blocked_search, one_term_search
from lib.lmm.stats import ModelStats
from lib.lmm.theta import ThetaLayout

Model = OneTermModel | BlockedModel


@dataclass(frozen=True, eq=False)
class Optimum:
    """The optimum and what the solve there gives (before any packaging).

    ``modes`` and ``condvar_unscaled`` hold one entry per term (in ``stats.terms``
    order): b_k of shape (q, G) and Lambda_k [(L L')^{-1}]_kk Lambda_k' of shape
    (q, q, G).
    """

    theta: np.ndarray
    criterion: float
    optimizer: OptimizerSummary
    layouts: tuple[ThetaLayout, ...]
    beta: np.ndarray
    unscaled_vcov: np.ndarray
    modes: list
    condvar_unscaled: list
    satterthwaite: SatterthwaiteInputs
    sigma: float


def optimum(stats: ModelStats, reml: bool) -> Optimum:
    """The REML (or ML) optimum of the model whose statistics are given."""
    if len(stats.terms) == 1:
        return one_term_optimum(stats, reml)
    return blocked_optimum(stats, reml)


def one_term_optimum(stats: ModelStats, reml: bool) -> Optimum:
    """One term: the batched factor and its search."""
    model = OneTermModel(stats)
    parts = _keeping_last_call(lambda points: one_term_parts(model, points, reml))
    return at_optimum(model, one_term_search(model, reml, parts), reml, parts)


def blocked_optimum(stats: ModelStats, reml: bool) -> Optimum:
    """Any number of terms (one included): the blocked factor and its search."""
    model = BlockedModel(stats)
    parts = _keeping_last_call(lambda points: blocked_parts(model, points, reml))
    return at_optimum(model, blocked_search(model, stats, reml, parts), reml, parts)


def _keeping_last_call(
    parts: Callable[[np.ndarray], GradientParts],
) -> Callable[[np.ndarray], GradientParts]:
    """``parts`` answering a repeated call with the same points from its last result."""
    last: list = [None, None]

    def kept(points: np.ndarray) -> GradientParts:
        key = (points.shape, points.tobytes())
        if last[0] != key:
            last[0], last[1] = key, parts(points)
        return last[1]

    return kept


def at_optimum(
    model: Model,
    found: SearchResult,
    reml: bool,
    gradient_parts: Callable[[np.ndarray], GradientParts],
) -> Optimum:
    """Everything at the optimum: beta, vcov, conditional modes and variances, df inputs."""
    theta, criterion, summary = found
    if not np.isfinite(criterion):
        raise FitError(
            "The model could not be fitted: the criterion is not finite at any tried "
            "parameter value. Check for a constant outcome or a predictor that is "
            "constant within every group."
        )
    theta = np.asarray(theta, float)
    n, p = model.nobs, model.p
    sol = model.solve(theta)
    sigma = sigma_hat(sol.pwrss, n, p, reml)
    return Optimum(
        theta=theta,
        criterion=float(criterion),
        optimizer=summary,
        layouts=model.layouts,
        beta=sol.beta,
        unscaled_vcov=unscaled_vcov(sol.RXt),
        modes=model.conditional_modes(theta, sol),
        condvar_unscaled=model.conditional_covariances(theta, sol, 1.0),
        satterthwaite=satterthwaite_inputs(
            gradient_parts,
            lambda points: model.criterion_parts(points, reml),
            theta,
            sigma,
            n,
            p,
            reml,
        ),
        sigma=sigma,
    )
