"""Complete, no and partial pooling of one grouping factor ("borrowing strength").

For a mixed model with one random term ``(z | g)`` the three strategies the
tutorial contrasts are, with k running over the group-specific coefficients
(the term's effects, ``(Intercept)`` and/or slopes):

* **complete pooling**: one OLS fit of ``y`` on every fixed and random column,
  ignoring the groups (the tutorial's simple regression);
* **no pooling**: the same model with each group's effects as free fixed
  parameters (group dummies and group-by-slope interactions), i.e. the limit of
  the mixed model as the random-effect variances grow without bound. For
  ``(1 + x | g)`` this is the separate per-group regressions, for ``x + (1 | g)``
  the dummy-variable model, for the null model the group means;
* **partial pooling**: the mixed model's conditional modes added to the fixed
  effects, lme4's ``coef()``.

Given the fixed effects beta, group j's conditional mode is a matrix-weighted
version of its no-pooling deviation (Henderson's equations; Gelman & Hill 2007,
sec. 12.2):

    b_j = T (T + sigma^2 (Z_j'Z_j)^-1)^-1 d_j,   d_j = (Z_j'Z_j)^-1 Z_j'(y_j - X_j beta)

with T the random-effects covariance. For a random intercept alone Z_j'Z_j = n_j
and the *shrinkage weight* is the scalar tau^2 / (tau^2 + sigma^2 / n_j): small
groups (small n_j) get a small weight and are pulled towards the fixed effect.
With several effects the table reports each effect's reliability (the same
formula with [(Z_j'Z_j)^-1]_kk in place of 1 / n_j, Raudenbush & Bryk 2002).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from lib.errors import SpecError
from lib.lmm.result import LmmFit
from lib.model.design import build_design

RANK_TOL = 1e-10  # relative eigenvalue below which a group's Z_j'Z_j counts as singular


@dataclass(frozen=True, eq=False)
class Pooling:
    """The three pooling strategies for one grouping factor, as numbers.

    Attributes
    ----------
    group : str
        Grouping-factor name (lme4's).
    levels : tuple of str
        Levels in lme4's order.
    sizes : ndarray (G,)
        Rows per level used by the fit.
    names : tuple of str
        Coefficients (columns below): the fixed-effect names, then any random
        effect without a fixed counterpart (as lme4's ``coef()``).
    random : tuple of str
        The names that vary by group (the random term's effects).
    complete : ndarray (k,)
        Complete pooling: one OLS fit on every column in ``names``.
    no_pooling : ndarray (G, k)
        Group effects as free parameters; NaN for a group whose effects are not
        estimable on their own (e.g. a slope in a group with one x value).
    partial : ndarray (G, k)
        lme4's ``coef()``: fixed effects plus conditional modes.
    centre : ndarray (k,)
        Fixed effects (0 for a random effect without a fixed counterpart).
    covariance : ndarray (q, q)
        Fitted covariance T of the random effects (in ``random`` order).
    sigma2 : float
        Residual variance.
    weights : ndarray (G, q)
        Shrinkage weight (reliability) of each group's own estimate of each
        effect, T_kk / (T_kk + sigma^2 [(Z_j'Z_j)^-1]_kk) (Raudenbush & Bryk
        2002): for a lone random intercept exactly tau^2 / (tau^2 + sigma^2 / n_j),
        the fraction of the group's own deviation that the model keeps. With
        correlated effects the shift also borrows along the correlation, so
        there it is a guide, not the exact multiplier. NaN where Z_j'Z_j is singular.
    """

    group: str
    levels: tuple[str, ...]
    sizes: np.ndarray
    names: tuple[str, ...]
    random: tuple[str, ...]
    complete: np.ndarray
    no_pooling: np.ndarray
    partial: np.ndarray
    centre: np.ndarray
    covariance: np.ndarray
    sigma2: float
    weights: np.ndarray

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    def column(self, name: str) -> int:
        """Position of coefficient ``name`` in ``names``."""
        return self.names.index(name)


def pooling(frame: pd.DataFrame, fit: LmmFit) -> Pooling:
    """Complete, no and partial pooling for a fitted one-term model.

    Parameters
    ----------
    frame : DataFrame
        The data the model was fitted to (rows are dropped by the same rule).
    fit : LmmFit
        A fit with exactly one random term.

    Raises
    ------
    SpecError
        The model has several random terms.
    """
    spec = fit.spec
    if len(spec.random) != 1:
        raise SpecError(
            f"The pooling view needs a model with one random term; this one has "
            f"{len(spec.random)} ({' + '.join(t.formula() for t in spec.random)}). "
            "Keep one grouping factor to compare the pooling strategies."
        )
    design = build_design(frame, spec)
    term = design.terms[0]
    factor = fit.ranef[0]
    random = tuple(term.names)
    fixed = tuple(design.fixef_names)
    names = fixed + tuple(r for r in random if r not in fixed)
    G = term.nlevels
    codes, Z, X, y = term.codes, term.Z, design.X, design.y

    # Columns shared by all groups under no pooling: fixed columns that do not vary by group.
    shared = [k for k, name in enumerate(fixed) if name not in random]
    W = X[:, shared]
    ztz = _per_group(Z, Z, codes, G)  # (G, q, q)
    zty = _per_group(Z, y[:, None], codes, G)[:, :, 0]  # (G, q)
    ztw = _per_group(Z, W, codes, G)  # (G, q, s)
    ok = _full_rank(ztz)
    inv = np.zeros_like(ztz)
    inv[ok] = np.linalg.inv(ztz[ok])

    # Frisch-Waugh: the shared coefficients from the within-group residuals of W and y.
    gamma = np.zeros(len(shared))
    if shared:
        # Rows of a group whose own effects are not estimable are left out of gamma.
        rows = ok[codes]
        a, ai, ay = ztw[ok], inv[ok], zty[ok]
        wtw = W[rows].T @ W[rows] - np.einsum("gqs,gqr,gru->su", a, ai, a)
        wty = W[rows].T @ y[rows] - np.einsum("gqs,gqr,gr->s", a, ai, ay)
        gamma = np.linalg.lstsq(wtw, wty, rcond=None)[0]
    own = np.einsum("gqr,gr->gq", inv, zty - np.einsum("gqs,s->gq", ztw, gamma))
    own[~ok] = np.nan

    no_pool = np.empty((G, len(names)))
    for j, name in enumerate(names):
        if name in random:
            no_pool[:, j] = own[:, random.index(name)]
        else:
            no_pool[:, j] = gamma[shared.index(fixed.index(name))]

    beta = dict(zip(fit.fixef_names, np.asarray(fit.beta, float), strict=True))
    centre = np.array([beta.get(name, 0.0) for name in names])
    modes = np.asarray(factor.modes, float)
    partial = np.tile(centre, (G, 1))
    for k, name in enumerate(factor.names):
        partial[:, names.index(name)] += modes[:, k]

    full = np.column_stack([X] + [Z[:, [k]] for k, r in enumerate(random) if r not in fixed])
    complete = np.linalg.lstsq(full, y, rcond=None)[0]

    T = np.asarray(fit.varcorr.terms[0].covariance, float)
    sigma2 = float(fit.varcorr.residual_variance)
    # Raudenbush & Bryk's reliability of each group's own estimate, per effect.
    tau2 = np.diag(T)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = tau2 / (tau2 + sigma2 * np.einsum("gkk->gk", inv))
    weights[~ok] = np.nan
    return Pooling(
        group=factor.group,
        levels=tuple(factor.levels),
        sizes=np.bincount(codes, minlength=G),
        names=names,
        random=random,
        complete=complete,
        no_pooling=no_pool,
        partial=partial,
        centre=centre,
        covariance=T,
        sigma2=sigma2,
        weights=weights,
    )


def intercept_weight(tau2: float, sigma2: float, n: np.ndarray) -> np.ndarray:
    """The random-intercept shrinkage weight tau^2 / (tau^2 + sigma^2 / n_j)."""
    return tau2 / (tau2 + sigma2 / np.asarray(n, float))


def pooling_table(result: Pooling) -> pd.DataFrame:
    """One row per group and random effect: n, the no-pooling and partial-pooling
    estimates, the shift between them and the shrinkage weight. Sorted by effect,
    then by group size (smallest first: they move most)."""
    frames = []
    for k, name in enumerate(result.random):
        j = result.column(name)
        frames.append(
            pd.DataFrame(
                {
                    result.group: [str(v) for v in result.levels],
                    "effect": name,
                    "n": result.sizes.astype(int),
                    "no pooling": result.no_pooling[:, j],
                    "partial pooling": result.partial[:, j],
                    "shift": result.partial[:, j] - result.no_pooling[:, j],
                    "weight": result.weights[:, k],
                }
            ).sort_values("n", kind="stable")
        )
    return pd.concat(frames, ignore_index=True).set_index(result.group)


def ellipse(
    centre: np.ndarray, covariance: np.ndarray, level: float, points: int = 90
) -> np.ndarray:
    """Points (``points`` x 2) on the ``level`` probability contour of N(centre, cov).

    The contour of a bivariate normal is {centre + r L u : |u| = 1} with
    L L' = covariance and r^2 the chi-square(2) quantile of ``level``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    cov = np.asarray(covariance, float)
    # A semidefinite (singular-fit) covariance: the eigen-factor still works.
    vals, vecs = np.linalg.eigh(cov)
    factor = vecs * np.sqrt(np.clip(vals, 0.0, None))
    r = float(np.sqrt(stats.chi2.ppf(level, df=2)))
    angle = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.vstack([np.cos(angle), np.sin(angle)])
    return np.asarray(centre, float)[None, :] + r * (factor @ circle).T


def _per_group(A: np.ndarray, B: np.ndarray, codes: np.ndarray, G: int) -> np.ndarray:
    """Per-group cross-products A_j' B_j, shape (G, a, b), in one pass per column pair."""
    out = np.zeros((G, A.shape[1], B.shape[1]))
    for i in range(A.shape[1]):
        for k in range(B.shape[1]):
            out[:, i, k] = np.bincount(codes, weights=A[:, i] * B[:, k], minlength=G)
    return out


def _full_rank(ztz: np.ndarray) -> np.ndarray:
    """Groups whose Z_j'Z_j is (numerically) invertible."""
    scale = np.sqrt(np.clip(np.einsum("gii->gi", ztz), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = ztz / (scale[:, :, None] * scale[:, None, :])
    unit = np.where(np.isfinite(unit), unit, 0.0)
    eig = np.linalg.eigvalsh(unit)
    return (scale.min(axis=1) > 0) & (eig[:, 0] > RANK_TOL * np.maximum(eig[:, -1], 1e-300))
