"""Per-group cross-products: the only pass over the rows a fit needs.

Every quantity in lme4's profiled deviance for one grouping factor depends on
the data only through, per group g, Z_g'Z_g (q x q), Z_g'X_g (q x p) and
Z_g'y_g (q), plus the global X'X, X'y and y'y (Bates et al. 2015, sec. 3.2-3.6,
with the sparse Z'Z block-diagonal when there is one factor). Computing them
once makes each objective evaluation cost O(G q^3) instead of O(n).

Group-indexed arrays keep the group axis last, shape (q, q, G), so that the
tiny q x q algebra in ``objective`` runs as a handful of vector operations
across all groups at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class CrossProducts:
    """Sufficient statistics of a one-factor linear mixed model.

    Attributes
    ----------
    ZtZ : ndarray (q, q, G)
    ZtX : ndarray (q, p, G)
    Zty : ndarray (q, G)
    XtX : ndarray (p, p)
    Xty : ndarray (p,)
    yty : float
    nobs : int
    """

    ZtZ: np.ndarray
    ZtX: np.ndarray
    Zty: np.ndarray
    XtX: np.ndarray
    Xty: np.ndarray
    yty: float
    nobs: int

    @property
    def q(self) -> int:
        return self.ZtZ.shape[0]

    @property
    def p(self) -> int:
        return self.XtX.shape[0]

    @property
    def ngroups(self) -> int:
        return self.ZtZ.shape[2]


def group_sums(weights: np.ndarray, group: np.ndarray, ngroups: int) -> np.ndarray:
    """Sum of ``weights`` within each group (np.bincount is a single O(n) pass)."""
    return np.bincount(group, weights=weights, minlength=ngroups)


def cross_products(
    X: np.ndarray, y: np.ndarray, Z: np.ndarray, group: np.ndarray, ngroups: int
) -> CrossProducts:
    """Compute the per-group and global cross-products of a design.

    Parameters
    ----------
    X : ndarray (n, p)
    y : ndarray (n,)
    Z : ndarray (n, q)
        Per-row random-effect covariates (column of ones for an intercept).
    group : ndarray (n,) of int in 0..ngroups-1
    ngroups : int
    """
    q, p = Z.shape[1], X.shape[1]
    z_is_one = [bool(np.all(Z[:, a] == 1.0)) for a in range(q)]
    counts = np.bincount(group, minlength=ngroups).astype(float)

    def zsum(a: int, col: np.ndarray) -> np.ndarray:
        # Skip the multiply by an all-ones intercept column.
        return group_sums(col if z_is_one[a] else Z[:, a] * col, group, ngroups)

    ZtZ = np.empty((q, q, ngroups))
    for a in range(q):
        for b in range(a, q):
            if z_is_one[a] and z_is_one[b]:
                s = counts
            else:
                s = zsum(a, Z[:, b]) if not z_is_one[a] else zsum(b, Z[:, a])
            ZtZ[a, b] = ZtZ[b, a] = s
    ZtX = np.empty((q, p, ngroups))
    x_is_one = [bool(np.all(X[:, j] == 1.0)) for j in range(p)]
    for a in range(q):
        for j in range(p):
            if z_is_one[a] and x_is_one[j]:
                ZtX[a, j] = counts
            elif x_is_one[j]:
                ZtX[a, j] = group_sums(Z[:, a], group, ngroups)
            else:
                ZtX[a, j] = zsum(a, X[:, j])
    Zty = np.empty((q, ngroups))
    for a in range(q):
        Zty[a] = zsum(a, y)
    return CrossProducts(
        ZtZ=ZtZ,
        ZtX=ZtX,
        Zty=Zty,
        XtX=X.T @ X,
        Xty=X.T @ y,
        yty=float(y @ y),
        nobs=int(y.shape[0]),
    )
