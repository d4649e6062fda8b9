"""theta, lme4's covariance parameters of one random term, and the block T(theta).

Bates et al. (2015), J. Stat. Softw. 67(1), sec. 2.2: the random effects of a
level are b_g = T u_g with u_g ~ N(0, sigma^2 I), so a term's covariance is
sigma^2 T T'. T is q x q lower triangular; theta lists its free elements
(MixedModels.jl keeps the same template per term in ``src/remat.jl``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@cache
def _positions(q: int, correlated: bool) -> tuple[tuple[int, int], ...]:
    # Cached: this sits inside the criterion's innermost loops.
    if not correlated:
        return tuple((i, i) for i in range(q))
    return tuple((i, j) for j in range(q) for i in range(j, q))


@dataclass(frozen=True)
class ThetaLayout:
    """Where each element of theta goes in the q x q block T.

    lme4 stores the lower triangle column by column; an uncorrelated model
    (separate terms ``(1|g) + (0+x|g)``) has only the diagonal.
    """

    q: int
    correlated: bool

    @property
    def positions(self) -> tuple[tuple[int, int], ...]:
        return _positions(self.q, self.correlated)

    @property
    def size(self) -> int:
        return len(self.positions)

    @property
    def lower_bounds(self) -> np.ndarray:
        """0 on the diagonal (standard deviations), -inf elsewhere, as lme4."""
        return np.array([0.0 if i == j else -np.inf for i, j in self.positions])

    @property
    def start(self) -> np.ndarray:
        """lme4's default start: identity block."""
        return np.array([1.0 if i == j else 0.0 for i, j in self.positions])

    def block(self, theta: np.ndarray) -> np.ndarray:
        """The relative covariance factor T(theta) (lower triangular)."""
        T = np.zeros((self.q, self.q))
        for value, (i, j) in zip(theta, self.positions, strict=True):
            T[i, j] = value
        return T

    def blocks(self, thetas: np.ndarray) -> np.ndarray:
        """T at each row of ``thetas`` (B, size), shape (q, q, B)."""
        T = np.zeros((self.q, self.q, thetas.shape[0]))
        for col, (i, j) in enumerate(self.positions):
            T[i, j] = thetas[:, col]
        return T

    def values(self, T: np.ndarray) -> np.ndarray:
        """theta read off a block T (the inverse of ``block``)."""
        return np.array([T[i, j] for i, j in self.positions])


def split_theta(theta: np.ndarray, layouts) -> list[np.ndarray]:  # noqa: ANN001
    """The concatenated theta of several terms cut into each term's part."""
    parts, at = [], 0
    for layout in layouts:
        parts.append(theta[at : at + layout.size])
        at += layout.size
    return parts
