"""A well-conditioned parametrisation for the search, and the map back to the user's units.

A predictor such as ``year`` (values near 2000), an outcome in millions or a
predictor in micro-units leaves the model unchanged but makes the profiled
deviance badly scaled in theta: with ``(1 + year | g)`` the random intercept
is the value at year 0, two thousand years away from the data, so the
intercept and slope are almost perfectly correlated and the optimiser creeps
(lme4 stops early there and warns). The same model in centred and scaled
columns is easy, so the search runs there and every number is mapped back.

With the outcome y = c_y + s_y y*, fixed columns X = X* G^{-1} (each numeric
predictor x = c + s x*, so G holds 1/s on the diagonal and -c/s in the
intercept row; without an intercept, ``0 +``, c and c_y are 0: scaling only)
and each random term's covariates z = z* M (M upper triangular: a slope column
shifted by c only where the term has an intercept
and is correlated, so that the covariance structure is the same family):

    beta      = s_y G beta* + c_y e_1            vcov(beta) = s_y^2 G vcov(beta*) G'
    b_g       = s_y M^{-1} b*_g                  Var(b_g | y) = s_y^2 M^{-1} C*_g M^{-T}
    sigma     = s_y sigma*                       T T' = M^{-1} T* T*' M^{-T}
    ML deviance    = deviance* + 2 n log s_y
    REML criterion = criterion* + 2 (n - p) log s_y + 2 log|det G|^{-1}

(the REML shift is Harville's 1974 term log|X'V^{-1}X|, which changes by
-2 log|det G| when X* = X G). The likelihood is invariant under z = z* M
because Lambda = M^{-1} Lambda* (up to an orthogonal factor). Satterthwaite df
are invariant under reparametrisation of the variance parameters; they are
computed for the contrasts a_j = row j of G.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lib.lmm.objective import residual_dof
from lib.lmm.result import Conditioning
from lib.lmm.theta import split_theta
from lib.model.design import Design, TermDesign

#: A column is rescaled when |mean| > OFFSET_RATIO * sd or its sd is outside SCALE_RANGE.
OFFSET_RATIO = 50.0
SCALE_RANGE = (1e-3, 1e3)


def _needs(values: np.ndarray) -> tuple[float, float] | None:
    """(centre, scale) for a badly scaled numeric column, else None."""
    if values.size < 2:
        return None
    mean = float(np.mean(values))
    sd = float(np.std(values))
    if not np.isfinite(sd) or sd == 0.0:
        return None
    if abs(mean) > OFFSET_RATIO * sd or not SCALE_RANGE[0] <= sd <= SCALE_RANGE[1]:
        return mean, sd
    return None


def _is_dummy(column: np.ndarray) -> bool:
    return bool(np.all((column == 0.0) | (column == 1.0)))


def has_intercept(design: Design) -> bool:
    """Whether X's first column is the intercept (lme4's ``0 +`` / ``- 1`` has none)."""
    return design.fixef_names[:1] == ("(Intercept)",)


def choose(design: Design) -> Conditioning:
    """Centres and scales for the badly scaled columns of a design (identity if none).

    Centring a column (or the outcome) is absorbed by the intercept; without one
    (``0 +``) a shift would change the model, so columns and outcome are only scaled.
    """
    p = design.X.shape[1]
    centre, scale = np.zeros(p), np.ones(p)
    intercept = has_intercept(design)
    for j in range(1 if intercept else 0, p):
        column = design.X[:, j]
        found = None if _is_dummy(column) else _needs(column)
        if found is not None:
            centre[j], scale[j] = found if intercept else (0.0, found[1])
    y_found = _needs(design.y)
    y_centre, y_scale = y_found if y_found is not None else (0.0, 1.0)
    if not intercept:
        y_centre = 0.0
    slope_shift: dict[str, tuple[float, float]] = {}
    for term in design.terms:
        for k, name in enumerate(term.names):
            if name == "(Intercept)" or name in slope_shift:
                continue
            found = _needs(term.Z[:, k])
            if found is not None:
                slope_shift[name] = found
    applied = bool(np.any(scale != 1.0) or y_found is not None or slope_shift)
    return Conditioning(
        centre=centre,
        scale=scale,
        applied=applied,
        y_centre=float(y_centre),
        y_scale=float(y_scale),
        slope_centre={k: v[0] for k, v in slope_shift.items()},
        slope_scale={k: v[1] for k, v in slope_shift.items()},
    )


def fixed_map(cond: Conditioning) -> np.ndarray:
    """G with X* = X G: column j of X* is (x_j - c_j) / s_j.

    The shifts -c_j / s_j sit in the intercept's row 0; without an intercept every
    c_j is 0 (``choose``) and G is diagonal, column 0 scaled like any other.
    """
    p = cond.centre.size
    G = np.diag(1.0 / cond.scale)
    G[0, 1:] = -cond.centre[1:] / cond.scale[1:]
    return G[:p, :p]


def term_map(cond: Conditioning, term: TermDesign) -> np.ndarray:
    """M with z = z* M for one term (identity where nothing was rescaled).

    A slope is shifted only where the term has an intercept and is correlated:
    there the shift is absorbed by the intercept and its covariance; elsewhere
    shifting would change the model, so the slope is only scaled.
    """
    q = term.q
    M = np.eye(q)
    shift_ok = term.term.intercept and term.correlated
    for k, name in enumerate(term.names):
        if name not in cond.slope_scale:
            continue
        M[k, k] = cond.slope_scale[name]
        if shift_ok:
            M[0, k] = cond.slope_centre[name]
    return M


def apply(design: Design, cond: Conditioning) -> Design:
    """The design in the conditioned parametrisation."""
    X = np.asfortranarray(design.X @ fixed_map(cond))
    y = (design.y - cond.y_centre) / cond.y_scale
    terms = []
    for term in design.terms:
        M = term_map(cond, term)
        Z = np.asfortranarray(np.linalg.solve(M.T, term.Z.T).T)  # z* = z M^{-1}
        terms.append(replace(term, Z=Z))
    return replace(design, X=X, y=y, terms=tuple(terms))


def lower_triangular_factor(A: np.ndarray) -> np.ndarray:
    """L lower triangular with L L' = A A' and a non-negative diagonal (via QR of A')."""
    q = A.shape[0]
    if q == 1:
        return np.abs(A)
    _, R = np.linalg.qr(A.T)
    L = R.T
    signs = np.where(np.diag(L) < 0, -1.0, 1.0)
    return L * signs[None, :]


def criterion_shift(cond: Conditioning, nobs: int, p: int, reml: bool) -> float:
    """Criterion in the user's units minus the criterion in the conditioned ones."""
    shift = 2.0 * residual_dof(nobs, p, reml) * float(np.log(cond.y_scale))
    if reml:
        log_det_G = -float(np.sum(np.log(cond.scale)))
        shift -= 2.0 * log_det_G
    return shift


@dataclass(frozen=True, eq=False)
class Mapped:
    """The optimum's quantities in the user's units."""

    theta: np.ndarray
    beta: np.ndarray
    unscaled_vcov: np.ndarray
    modes: list
    condvar_unscaled: list
    jacobian: np.ndarray
    sigma: float
    criterion: float


def map_back(
    cond: Conditioning,
    design: Design,
    layouts: tuple,
    theta: np.ndarray,
    beta: np.ndarray,
    unscaled_vcov: np.ndarray,
    modes: list,
    condvar_unscaled: list,
    jacobian: np.ndarray,
    sigma: float,
    criterion: float,
    reml: bool,
) -> Mapped:
    """Every quantity of the optimum in the user's units (formulas in the module docstring).

    ``unscaled_vcov`` and ``condvar_unscaled`` are relative to sigma^2, so only
    G and M act on them; ``jacobian`` is d vcov(beta) / d phi for phi in the
    conditioned parametrisation, mapped to the user's coefficients (Satterthwaite
    df are invariant to how the variance parameters are parametrised).
    """
    G = fixed_map(cond)
    s_y = cond.y_scale
    beta_raw = s_y * (G @ beta)
    beta_raw[0] += cond.y_centre
    vcov_raw = G @ unscaled_vcov @ G.T
    jac = np.einsum("ia,abk,jb->ijk", G, jacobian, G) * s_y**2
    thetas, out_modes, out_condvar = [], [], []
    parts = split_theta(theta, layouts)
    for term, layout, part, b, cv in zip(
        design.terms, layouts, parts, modes, condvar_unscaled, strict=True
    ):
        M_inv = np.linalg.inv(term_map(cond, term))
        T_raw = lower_triangular_factor(M_inv @ layout.block(part))
        thetas.append(layout.values(T_raw))
        out_modes.append(s_y * (M_inv @ b))
        out_condvar.append(np.einsum("ab,bcg,dc->adg", M_inv, cv, M_inv))
    n, p = design.nobs, design.X.shape[1]
    return Mapped(
        theta=np.concatenate(thetas),
        beta=beta_raw,
        unscaled_vcov=vcov_raw,
        modes=out_modes,
        condvar_unscaled=out_condvar,
        jacobian=jac,
        sigma=s_y * sigma,
        criterion=criterion + criterion_shift(cond, n, p, reml),
    )
