"""The model as equations: level 1, level 2 and combined, symbolic or with the fitted numbers.

Notation (Raudenbush & Bryk 2002, *Hierarchical Linear Models*, ch. 2-3, extended to
several grouping factors): observation i lies in level j of the first grouping
factor, k of the second, ...; coefficient p (0 = intercept, then the fixed
effects in lme4's order, then random slopes without a fixed effect) is

    level 1:  y_{ij} = beta_{0j} + beta_{1j} x_{1ij} + ... + e_{ij},   e ~ N(0, sigma^2)
    level 2:  beta_{pj} = gamma_{p0} + u_{pj}          (u_{pj} only if p varies by j)

and the combined (mixed) equation substitutes level 2 into level 1. Each grouping
factor has its own letter for its random effects (u, v, w, ...), and a term's
random effects are jointly normal with the covariance lme4's ``VarCorr`` reports
(diagonal for an uncorrelated term). Fitted versions replace gamma by lme4's
``fixef`` and the covariances by ``VarCorr``; ``group_equations`` writes each
group's line as ``coef()`` gives it.

Every function returns LaTeX for KaTeX (Streamlit's ``st.latex``). Column names
and group labels are user text: they only ever enter through ``latex_text``,
which escapes every character LaTeX treats specially.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lib.model.spec import INTERCEPT, ModelSpec

# LaTeX's special characters in text mode and their literal forms (KaTeX supports each).
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
}
FACTOR_INDEX = "jklmnpqrs"  # observation index i, then one letter per grouping factor
EFFECT_LETTER = "uvwabcdfg"  # random effects of the 1st, 2nd, ... grouping factor
MAX_NAME = 40  # characters of a name shown in an equation


def latex_escape(text: object) -> str:
    """``text`` as literal characters inside LaTeX's ``\\text{...}``.

    The ten special characters (``\\ { } $ & # ^ _ % ~``) become their escaped
    forms. Non-ASCII letters stay (KaTeX draws them in text mode with the page's
    font); control, format and line-separator characters (category C and Z
    except the space), which could hide text or break a line, become a space.
    """
    out = []
    for ch in str(text):
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch == " " or (ch.isascii() and ch.isprintable()):
            out.append(ch)
        elif unicodedata.category(ch)[0] in "CZ":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def latex_text(name: object) -> str:
    """A column name as upright text, escaped; very long names are shortened with …."""
    text = str(name)
    if len(text) > MAX_NAME:
        text = text[: MAX_NAME - 1] + "…"
    return r"\text{" + latex_escape(text) + "}"


def latex_number(value: float, decimals: int = 3) -> str:
    """A number as the tutorial quotes them (3 decimals); powers of ten when very large
    or very small, so that 1e-7 does not print as 0.000."""
    x = float(value)
    if math.isnan(x):
        return r"\text{NA}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 10 ** (-decimals)):
        mantissa, exponent = f"{x:.{decimals}e}".split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return f"{x:.{decimals}f}"


def _signed_sum(parts: Sequence[tuple[float | None, str]]) -> str:
    """``a + b x - c z``: each part is (number or None for a symbol, body after it)."""
    out = []
    for k, (value, body) in enumerate(parts):
        if value is None:
            out.append(body if k == 0 else f"+ {body}")
            continue
        number = latex_number(abs(value))
        factor = f"{number} \\cdot {body}" if body else number
        negative = value < 0 and latex_number(value) != latex_number(0.0)
        if k == 0:
            out.append(f"-{factor}" if negative else factor)
        else:
            out.append(f"{'-' if negative else '+'} {factor}")
    return " ".join(out) if out else "0"


@dataclass(frozen=True)
class ModelEquations:
    """A model's equations as LaTeX strings, one display line each.

    Attributes
    ----------
    level1 : str
        The observation-level equation.
    level1_rows, combined_rows : tuple of str
        The same equations broken into short rows for a narrow screen: the first row
        is ``lhs = ...``, the others start with ``+`` or ``-`` (fixed and random parts
        of the combined equation on rows of their own).
    level2 : tuple of str
        One equation per level-1 coefficient.
    combined : str
        Level 2 substituted into level 1 (lme4's model).
    distributions : tuple of str
        The residual's and each random term's normal distribution.
    indices : tuple of str
        What each index stands for (``j`` = level of school), LaTeX.
    """

    level1: str
    level2: tuple[str, ...]
    combined: str
    distributions: tuple[str, ...]
    indices: tuple[str, ...]
    level1_rows: tuple[str, ...] = ()
    combined_rows: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Coef:
    p: int  # coefficient number
    name: str  # effect name: "(Intercept)", a fixed column or dummy, or a slope column
    fixed: bool  # has a fixed effect (gamma)
    factors: tuple[int, ...]  # grouping factors with a random effect for it


def _coefficients(spec: ModelSpec, fixef_names: Sequence[str]) -> list[_Coef]:
    factors = list(spec.factor_names)
    names = list(fixef_names) or [INTERCEPT]
    if INTERCEPT not in names:
        names.insert(0, INTERCEPT)
    extra = [s for t in spec.random for s in t.names if s not in names]
    coefs = []
    for p, name in enumerate(names + list(dict.fromkeys(extra))):
        varying = tuple(sorted({factors.index(t.name) for t in spec.random if name in t.names}))
        coefs.append(_Coef(p, name, name in fixef_names or name == INTERCEPT, varying))
    return coefs


def _sub(p: int, letters: str) -> str:
    return f"{p}{letters}" if p < 10 or not letters else f"{p},{letters}"


def _obs_index(n_factors: int) -> str:
    return "i" + FACTOR_INDEX[:n_factors]


def _beta(c: _Coef) -> str:
    return rf"\beta_{{{_sub(c.p, ''.join(FACTOR_INDEX[f] for f in c.factors))}}}"


def _effect(c: _Coef, f: int, hat: bool = False) -> str:
    letter = EFFECT_LETTER[f]
    symbol = rf"\hat{{{letter}}}" if hat else letter
    return rf"{symbol}_{{{_sub(c.p, FACTOR_INDEX[f])}}}"


def _x(c: _Coef, obs: str) -> str:
    return f"{latex_text(c.name)}_{{{obs}}}"


def _check(spec: ModelSpec) -> None:
    if len(spec.factor_names) > len(FACTOR_INDEX):
        raise ValueError(
            f"At most {len(FACTOR_INDEX)} grouping factors can be written as equations, "
            f"got {len(spec.factor_names)}."
        )


def model_equations(
    spec: ModelSpec,
    fixef_names: Sequence[str],
    beta: Sequence[float] | None = None,
    varcorr: object | None = None,
) -> ModelEquations:
    """Level-1, level-2 and combined equations of ``spec``.

    Parameters
    ----------
    spec : ModelSpec
    fixef_names : sequence of str
        The fit's fixed-effect names (categorical predictors become dummies such as
        ``trtB``, which only the design knows).
    beta : sequence of float, optional
        Fixed effects in ``fixef_names`` order: given, the gammas are replaced by them.
    varcorr : VarCorr, optional
        Given (with ``beta``), the distributions show the fitted variances.

    Returns
    -------
    ModelEquations
    """
    _check(spec)
    coefs = _coefficients(spec, fixef_names)
    n_factors = len(spec.factor_names)
    obs = _obs_index(n_factors)
    gamma = dict(zip(fixef_names, beta, strict=True)) if beta is not None else None
    y = latex_text(spec.outcome)

    def level1_term(c: _Coef) -> str:
        return _beta(c) if c.p == 0 else rf"{_beta(c)} \cdot {_x(c, obs)}"

    lhs = f"{y}_{{{obs}}}"
    level1_parts = [(None, level1_term(c)) for c in coefs] + [(None, rf"\varepsilon_{{{obs}}}")]
    level1 = f"{lhs} = " + _signed_sum(level1_parts)
    # One term a row when names are long: a 1024 px projector with the sidebar open
    # leaves about 450 px for an equation.
    longest = max(len(str(n)) for n in (spec.outcome, *(c.name for c in coefs)))
    per_row = 1 if longest > 12 else 2
    level1_rows = _rows(lhs, [level1_parts], per_row=per_row)

    level2 = []
    for c in coefs:
        parts: list[tuple[float | None, str]] = []
        if c.fixed:
            if gamma is None:
                parts.append((None, rf"\gamma_{{{c.p}0}}"))
            else:
                parts.append((float(gamma.get(c.name, 0.0)), ""))
        parts += [(None, _effect(c, f)) for f in c.factors]
        level2.append(f"{_beta(c)} = {_signed_sum(parts)}")

    fixed_parts: list[tuple[float | None, str]] = []
    random_parts: list[tuple[float | None, str]] = []
    for c in coefs:
        body = "" if c.p == 0 else _x(c, obs)
        if c.fixed:
            if gamma is None:
                symbol = rf"\gamma_{{{c.p}0}}"
                fixed_parts.append((None, symbol if c.p == 0 else rf"{symbol} \cdot {body}"))
            else:
                fixed_parts.append((float(gamma.get(c.name, 0.0)), body))
        for f in c.factors:
            effect = _effect(c, f)
            random_parts.append((None, effect if c.p == 0 else rf"{effect} \cdot {body}"))
    epsilon = (None, rf"\varepsilon_{{{obs}}}")
    combined = f"{lhs} = " + _signed_sum([*fixed_parts, *random_parts, epsilon])
    combined_rows = _rows(lhs, [fixed_parts, [*random_parts, epsilon]], per_row=per_row)

    distributions = [_residual_distribution(obs, varcorr)]
    distributions += _term_distributions(spec, coefs, varcorr)
    indices = tuple(
        rf"{FACTOR_INDEX[f]} = \text{{level of }} {latex_text(name)}"
        for f, name in enumerate(spec.factor_names)
    )
    return ModelEquations(
        level1=level1,
        level2=tuple(level2),
        combined=combined,
        distributions=tuple(distributions),
        indices=(r"i = \text{observation}", *indices),
        level1_rows=level1_rows,
        combined_rows=combined_rows,
    )


def _rows(
    lhs: str, groups: list[list[tuple[float | None, str]]], per_row: int = 2
) -> tuple[str, ...]:
    """``lhs = a + b`` then ``+ c + d`` ...: at most ``per_row`` parts a row, each group
    of parts starting a new row."""
    rows: list[str] = []
    first = True
    for parts in groups:
        for start in range(0, len(parts), per_row):
            chunk = parts[start : start + per_row]
            text = _signed_sum(chunk if first else [(None, ""), *chunk])
            rows.append(f"{lhs} = {text}" if first else text.lstrip())
            first = False
    return tuple(rows)


def fitted_equations(fit: object) -> ModelEquations:
    """``model_equations`` with lme4's fixed effects and ``VarCorr`` substituted."""
    return model_equations(fit.spec, fit.fixef_names, fit.beta, fit.varcorr)  # type: ignore[attr-defined]


def _residual_distribution(obs: str, varcorr: object | None) -> str:
    variance = (
        r"\sigma^2" if varcorr is None else latex_number(varcorr.residual_variance)  # type: ignore[attr-defined]
    )
    return rf"\varepsilon_{{{obs}}} \sim N(0,\ {variance})"


def _term_distributions(spec: ModelSpec, coefs: list[_Coef], varcorr: object | None) -> list[str]:
    factors = list(spec.factor_names)
    by_name = {c.name: c for c in coefs}
    out = []
    for term in spec.random:
        f = factors.index(term.name)
        effects = [_effect(by_name[n], f) for n in term.names]
        cov = _term_covariance(term, varcorr)
        symbols = [rf"\tau^2_{{{EFFECT_LETTER[f]}{by_name[n].p}}}" for n in term.names]
        if not term.is_correlated:
            for k, effect in enumerate(effects):
                value = symbols[k] if cov is None else latex_number(cov[k, k])
                out.append(rf"{effect} \sim N(0,\ {value})")
            continue
        q = len(effects)
        rows = []
        for a in range(q):
            cells = []
            for b in range(q):
                if cov is not None:
                    cells.append(latex_number(cov[a, b]))
                elif a == b:
                    cells.append(symbols[a])
                else:
                    lo, hi = sorted((by_name[term.names[a]].p, by_name[term.names[b]].p))
                    cells.append(rf"\tau_{{{EFFECT_LETTER[f]}{lo}{hi}}}")
            rows.append(" & ".join(cells))
        vector = r"\begin{pmatrix}" + r" \\ ".join(effects) + r"\end{pmatrix}"
        zeros = r"\begin{pmatrix}" + r" \\ ".join(["0"] * q) + r"\end{pmatrix}"
        matrix = r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"
        out.append(rf"{vector} \sim N\left({zeros},\ {matrix}\right)")
    return out


def _term_covariance(term: object, varcorr: object | None) -> np.ndarray | None:
    if varcorr is None:
        return None
    for block in varcorr.terms:  # type: ignore[attr-defined]
        if block.group == term.name and tuple(block.names) == tuple(term.names):  # type: ignore[attr-defined]
            return np.asarray(block.covariance, float)
    raise ValueError(f"VarCorr has no block for the term {term.formula()}")  # type: ignore[attr-defined]


def line_rhs(
    intercept: float, slopes: Sequence[tuple[str, float]] = (), offset: float | None = None
) -> str:
    """A fitted line's right-hand side, ``30.853 + 1.949 \\cdot x``.

    With ``offset`` (a dummy-variable model's group coefficient) it is written as the
    tutorial writes it: ``30.853 + 1.949 x - 8.519 = 22.334 + 1.949 x``.
    """
    parts = [(float(v), latex_text(name)) for name, v in slopes]
    final = _signed_sum([(float(intercept) + (offset or 0.0), ""), *parts])
    if offset is None:
        return final
    written = _signed_sum([(float(intercept), ""), *parts, (float(offset), "")])
    return f"{written} = {final}"


def line_equation(
    outcome: str,
    intercept: float,
    slopes: Sequence[tuple[str, float]] = (),
    offset: float | None = None,
) -> str:
    """One fitted line, ``\\widehat{y} = 30.853 + 1.949 \\cdot x`` (see ``line_rhs``)."""
    return rf"\widehat{{{latex_text(outcome)}}} = {line_rhs(intercept, slopes, offset)}"


def group_equations(
    levels: Sequence[str],
    intercepts: Sequence[float],
    slopes: Sequence[Sequence[tuple[str, float]]],
    offsets: Sequence[float | None] | None = None,
) -> list[tuple[str, str]]:
    """``(level, line_rhs)`` per group; the level stays plain text for the caller to
    escape for its own medium (``latex_text``, Markdown, HTML)."""
    out = []
    for k, level in enumerate(levels):
        offset = None if offsets is None else offsets[k]
        out.append((str(level), line_rhs(intercepts[k], slopes[k], offset)))
    return out


def coef_equations(fit: object, group: str, max_groups: int = 12) -> list[tuple[str, str]]:
    """Each level's line from lme4's ``coef()`` (fixed + random effects), first
    ``max_groups`` levels; slopes are every non-intercept coefficient."""
    from lib.present.summary import coef_table  # local: summary imports heavy pandas helpers

    table = coef_table(fit, group)  # type: ignore[arg-type]
    names = [c for c in table.columns if c != INTERCEPT]
    rows = table.iloc[:max_groups]
    intercepts = rows[INTERCEPT].to_numpy(float) if INTERCEPT in table else np.zeros(len(rows))
    slopes = [[(n, float(rows.iloc[k][n])) for n in names] for k in range(len(rows))]
    return group_equations(list(rows.index), intercepts, slopes)
