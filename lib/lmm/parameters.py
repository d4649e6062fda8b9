"""lme4's profile scale: random-effect SDs and correlations, sigma, and their theta.

lme4's ``profile()`` and ``confint()`` work on the ``.sig01`` scale (lme4's
``R/profile.R``, ``devfun2`` and ``Cv_to_Sv``): per term, in the order of its
theta (the column-wise lower triangle of T), a diagonal position gives the SD
of that effect and an off-diagonal one the correlation of the two effects;
then sigma. A term's covariance is sigma^2 T T' = D C C' D with D the SDs and
C the Cholesky factor of the correlation matrix, so T = D C / sigma: that form
stays defined when an SD is 0. broom.mixed's ``tidy`` names the same rows
``sd__(Intercept)``, ``cor__(Intercept).x`` and ``sd__Observation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.lmm.theta import ThetaLayout, split_theta


@dataclass(frozen=True)
class ScaleParameter:
    """One parameter of the profile scale.

    Attributes
    ----------
    kind : str
        "sd", "cor" or "sigma".
    term : int
        Index of the random term (in the engine's order); -1 for sigma.
    i, j : int
        The position in T (i == j for an SD; i > j for a correlation).
    group, name : str
        broom.mixed's ``group`` and ``term`` (``sd__x``, ``cor__(Intercept).x``).
    """

    kind: str
    term: int
    i: int
    j: int
    group: str
    name: str


def scale_parameters(terms, layouts: tuple[ThetaLayout, ...]) -> tuple[ScaleParameter, ...]:  # noqa: ANN001
    """The profile-scale parameters of terms with ``name`` and ``names`` (TermStats or
    TermVarCorr), sigma last; an uncorrelated term's extra blocks are groups ``g.1``..."""
    out = []
    seen: dict[str, int] = {}
    for k, (term, layout) in enumerate(zip(terms, layouts, strict=True)):
        names = term.names
        label = getattr(term, "name", None) or term.group
        blocks = 1 if layout.correlated else layout.q
        groups = []
        for _ in range(blocks):
            count = seen.get(label, 0)
            seen[label] = count + 1
            groups.append(label if count == 0 else f"{label}.{count}")
        for i, j in layout.positions:
            group = groups[0] if layout.correlated else groups[i]
            if i == j:
                out.append(ScaleParameter("sd", k, i, i, group, f"sd__{names[i]}"))
            else:
                out.append(ScaleParameter("cor", k, i, j, group, f"cor__{names[j]}.{names[i]}"))
    out.append(ScaleParameter("sigma", -1, 0, 0, "Residual", "sd__Observation"))
    return tuple(out)


def phi_from_theta(
    theta: np.ndarray, sigma: float, layouts: tuple[ThetaLayout, ...]
) -> np.ndarray:
    """SDs and correlations (theta's order), then sigma."""
    phi = []
    for layout, part in zip(layouts, split_theta(theta, layouts), strict=True):
        T = layout.block(part)
        S = T @ T.T
        sd = np.sqrt(np.diag(S))
        for i, j in layout.positions:
            if i == j:
                phi.append(sigma * sd[i])
            else:
                denom = sd[i] * sd[j]
                phi.append(S[i, j] / denom if denom > 0 else 0.0)
    phi.append(sigma)
    return np.asarray(phi, float)


def theta_from_phi(phi: np.ndarray, layouts: tuple[ThetaLayout, ...]) -> np.ndarray | None:
    """theta of SDs, correlations and sigma (the last entry); None where the
    correlations do not form a positive definite matrix."""
    sigma = phi[-1]
    out, at = [], 0
    for layout in layouts:
        values = phi[at : at + layout.size]
        at += layout.size
        q = layout.q
        sd = np.zeros(q)
        R = np.eye(q)
        for value, (i, j) in zip(values, layout.positions, strict=True):
            if i == j:
                sd[i] = value
            else:
                R[i, j] = R[j, i] = value
        try:
            C = np.linalg.cholesky(R)
        except np.linalg.LinAlgError:
            return None
        T = (sd[:, None] * C) / sigma
        out.append(layout.values(T))
    return np.concatenate(out)


def thetas_from_phis(phis: np.ndarray, layouts: tuple[ThetaLayout, ...]) -> np.ndarray:
    """``theta_from_phi`` at each row of ``phis`` (B, k), NaN rows where the correlations
    are not positive definite. Closed forms for one or two effects per term (the
    profile's Jacobians call this for every point: a Cholesky call per row cost
    more than the solves)."""
    phis = np.atleast_2d(phis)
    sigma = phis[:, -1]
    out, at = [], 0
    for layout in layouts:
        values = phis[:, at : at + layout.size]
        at += layout.size
        if not layout.correlated or layout.q == 1:
            out.append(values / sigma[:, None])
        elif layout.q == 2:
            sd0, r, sd1 = values[:, 0], values[:, 1], values[:, 2]
            with np.errstate(invalid="ignore"):
                rest = np.sqrt(1.0 - r * r)
            out.append(np.column_stack([sd0, sd1 * r, sd1 * rest]) / sigma[:, None])
        else:
            rows = []
            for phi_row, s in zip(values, sigma, strict=True):
                theta = theta_from_phi(np.append(phi_row, s), (layout,))
                rows.append(np.full(layout.size, np.nan) if theta is None else theta)
            out.append(np.array(rows))
    return np.hstack(out)
