"""The model as equations: level 1, level 2 and combined, symbolic or with the fitted numbers.

Notation (Raudenbush & Bryk 2002, *Hierarchical Linear Models*, ch. 2-3, extended to
several grouping factors): observation i lies in level j of the first grouping
factor, k of the second, ...; level-1 coefficient p (0 = intercept, then the
level-1 predictors in lme4's order, then random slopes without a fixed effect) is

    level 1:  y_{ij} = beta_{0j} + beta_{1j} x_{1ij} + ... + e_{ij},   e ~ N(0, sigma^2)
    level 2:  beta_{pj} = gamma_{p0} + gamma_{p1} W_{1j} + ... + u_{pj}

where the W are level-2 predictors (columns constant within the groups of the
first factor, when the caller names them) and u_{pj} appears only if p varies by j.
An interaction is a product: two level-1 columns make one level-1 predictor
(``x_{ij} * z_{ij}``); a level-2 column times a level-1 one (a cross-level
interaction such as ``meanses:cses``) is a W in the level-2 equation of that
level-1 coefficient. The combined (mixed) equation substitutes level 2 into level 1
(``gamma_{11} meanses_j cses_{ij}``). Each grouping
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
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from lib.model.spec import INTERCEPT, ModelSpec, RandomTerm
from lib.present.terms import Coefficient, Part, coefficient_parts

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
class _Term:
    """One coefficient's place in the equations: a gamma of slot ``p``'s level-2 equation."""

    q: int  # 0 for the slot's own constant, 1... for each level-2 predictor (Raudenbush-Bryk)
    name: str  # the fit's coefficient name (lme4's fixef name)
    between: tuple[Part, ...]  # level-2 parts: the predictor of the level-2 equation


@dataclass(frozen=True)
class _Slot:
    """A level-1 coefficient beta_p: the intercept, a level-1 predictor (or product of
    level-1 predictors), or a random slope without a fixed effect."""

    p: int
    name: str  # effect name: "(Intercept)", a column or dummy, a product, or a slope column
    within: tuple[Part, ...]  # level-1 parts: what beta_p multiplies
    terms: tuple[_Term, ...]  # its fixed effects (gammas)
    factors: tuple[int, ...]  # grouping factors with a random effect for it
    indexed: tuple[int, ...]  # factors whose index beta_p carries (random or level 2)


def _slots(
    spec: ModelSpec, fixef_names: Sequence[str], group_level: Collection[str]
) -> list[_Slot]:
    """The level-1 coefficients and, for each, the fixed effects of its level-2 equation.

    A coefficient's parts split into level-1 parts (what its beta multiplies at level
    1) and level-2 parts (columns constant within the first grouping factor,
    ``group_level``): ``meanses:cses`` is the gamma of ``meanses`` in the level-2
    equation of the ``cses`` slope (Raudenbush & Bryk 2002, eq. 2.15; Snijders &
    Bosker 2012, sec. 5.2), ``meanses`` alone the gamma of the intercept's equation.
    """
    factors = list(spec.factor_names)
    first_slopes = set(spec.random[0].slopes) if spec.random else set()
    level2 = set(group_level) - set(spec.slope_columns) - first_slopes
    coefs = coefficient_parts(spec, fixef_names)
    order: dict[tuple[str, ...], list[tuple[Coefficient, tuple[Part, ...], tuple[Part, ...]]]]
    order = {(): []}
    for c in coefs:
        within = tuple(p for p in c.parts if p.column not in level2)
        between = tuple(p for p in c.parts if p.column in level2)
        order.setdefault(tuple(p.label for p in within), []).append((c, within, between))
    random_names = [s for t in spec.random for s in t.slopes]
    for name in random_names:
        # An interaction's effect (age:urbanY, from effect_named) joins the fixed
        # coefficient with the same parts.
        parts = tuple(name.split(":"))
        order.setdefault(parts if len(parts) > 1 and parts in order else (name,), [])
    slots = []
    for p, (key, members) in enumerate(order.items()):
        name = INTERCEPT if not key else ":".join(key)
        within = members[0][1] if members else tuple(Part(k, k) for k in key)
        terms = []
        q = 0 if any(not between for _, _, between in members) else 1
        for c, _, between in sorted(members, key=lambda m: bool(m[2])):
            terms.append(_Term(q, c.name, between))
            q += 1
        random_name = INTERCEPT if not key else ":".join(key)
        varying = tuple(
            sorted({factors.index(t.name) for t in spec.random if random_name in t.names})
        )
        indexed = tuple(sorted(set(varying) | ({0} if any(t.between for t in terms) else set())))
        if terms or varying:  # an intercept-free model without a random intercept has no beta_0
            slots.append(_Slot(p, name, within, tuple(terms), varying, indexed))
    return slots


def _sub(p: int, letters: str) -> str:
    return f"{p}{letters}" if p < 10 or not letters else f"{p},{letters}"


def _gamma_sub(p: int, q: int) -> str:
    return f"{p}{q}" if p < 10 and q < 10 else f"{p},{q}"


def _obs_index(n_factors: int) -> str:
    return "i" + FACTOR_INDEX[:n_factors]


def _beta(s: _Slot) -> str:
    return rf"\beta_{{{_sub(s.p, ''.join(FACTOR_INDEX[f] for f in s.indexed))}}}"


def _effect(s: _Slot, f: int, hat: bool = False) -> str:
    letter = EFFECT_LETTER[f]
    symbol = rf"\hat{{{letter}}}" if hat else letter
    return rf"{symbol}_{{{_sub(s.p, FACTOR_INDEX[f])}}}"


def _product(parts: Sequence[Part], index: str) -> str:
    """``\\text{meanses}_{j} \\cdot \\text{cses}_{ij}``: a product of parts, each with its index."""
    return r" \cdot ".join(f"{latex_text(p.label)}_{{{index}}}" for p in parts)


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
    group_level: Collection[str] = (),
) -> ModelEquations:
    """Level-1, level-2 and combined equations of ``spec``.

    Parameters
    ----------
    spec : ModelSpec
    fixef_names : sequence of str
        The fit's fixed-effect names (categorical predictors become dummies such as
        ``trtB``, interactions products such as ``cses:sectorPublic``, which only the
        design knows).
    beta : sequence of float, optional
        Fixed effects in ``fixef_names`` order: given, the gammas are replaced by them.
    varcorr : VarCorr, optional
        Given (with ``beta``), the distributions show the fitted variances.
    group_level : collection of str
        Columns constant within each group of the first grouping factor
        (``lib.model.centring.group_level_columns``): they are written as level-2
        predictors, in the level-2 equation of the coefficient they multiply (a
        cross-level interaction ``meanses:cses`` puts ``meanses`` into the
        equation of the ``cses`` slope). Without them every predictor is written
        at level 1, which is the same model.

    Returns
    -------
    ModelEquations
    """
    _check(spec)
    spec = effect_named(spec, fixef_names, varcorr)
    slots = _slots(spec, fixef_names, group_level)
    n_factors = len(spec.factor_names)
    obs = _obs_index(n_factors)
    top = FACTOR_INDEX[0]
    gamma = dict(zip(fixef_names, beta, strict=True)) if beta is not None else None
    y = latex_text(spec.outcome)

    def level1_term(s: _Slot) -> str:
        return _beta(s) if not s.within else rf"{_beta(s)} \cdot {_product(s.within, obs)}"

    lhs = f"{y}_{{{obs}}}"
    level1_parts = [(None, level1_term(s)) for s in slots] + [(None, rf"\varepsilon_{{{obs}}}")]
    level1 = f"{lhs} = " + _signed_sum(level1_parts)
    # One term a row when names are long: a 1024 px projector with the sidebar open
    # leaves about 450 px for an equation.
    names = [spec.outcome, *(p.label for s in slots for t in s.terms for p in t.between)]
    names += [p.label for s in slots for p in s.within]
    longest = max(len(str(n)) for n in names)
    per_row = 1 if longest > 12 or any(len(s.within) > 1 for s in slots) else 2
    level1_rows = _rows(lhs, [level1_parts], per_row=per_row)

    def fixed_part(s: _Slot, t: _Term, body: str) -> tuple[float | None, str]:
        if gamma is not None:
            return (float(gamma.get(t.name, 0.0)), body)
        symbol = rf"\gamma_{{{_gamma_sub(s.p, t.q)}}}"
        return (None, rf"{symbol} \cdot {body}" if body else symbol)

    level2 = []
    for s in slots:
        parts = [fixed_part(s, t, _product(t.between, top)) for t in s.terms]
        parts += [(None, _effect(s, f)) for f in s.factors]
        level2.append(f"{_beta(s)} = {_signed_sum(parts)}")

    fixed_parts: list[tuple[float | None, str]] = []
    random_parts: list[tuple[float | None, str]] = []
    for s in slots:
        within = _product(s.within, obs)
        for t in s.terms:
            body = r" \cdot ".join(b for b in (_product(t.between, top), within) if b)
            fixed_parts.append(fixed_part(s, t, body))
        for f in s.factors:
            effect = _effect(s, f)
            random_parts.append((None, rf"{effect} \cdot {within}" if within else effect))
    epsilon = (None, rf"\varepsilon_{{{obs}}}")
    combined = f"{lhs} = " + _signed_sum([*fixed_parts, *random_parts, epsilon])
    combined_rows = _rows(lhs, [fixed_parts, [*random_parts, epsilon]], per_row=per_row)

    distributions = [_residual_distribution(obs, varcorr)]
    distributions += _term_distributions(spec, slots, varcorr)
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


def effect_named(
    spec: ModelSpec, fixef_names: Sequence[str], varcorr: object | None = None
) -> ModelSpec:
    """``spec`` with each categorical column on the left of "|" replaced by the names of
    its effects (``(urban | district)``: ``urbanY``), so that each is a coefficient of
    its own, as in the fixed part. The names are the fit's (``varcorr``) when given,
    else the column's dummies in the fixed part (lme4 codes both alike when the term
    has an intercept). A term whose effects cannot be found keeps its columns."""
    dummies: dict[str, list[str]] = {}
    for c in coefficient_parts(spec, fixef_names):
        if len(c.parts) == 1 and c.parts[0].label != c.parts[0].column:
            dummies.setdefault(c.parts[0].column, []).append(c.parts[0].label)
    fixed = set(fixef_names)
    blocks = list(getattr(varcorr, "terms", ()))
    terms = []
    for term in spec.random:
        if not term.interactions and all(s in fixed for s in term.slopes):
            terms.append(term)
            continue
        block = next(
            (
                b
                for b in blocks
                if b.group == term.name
                and (INTERCEPT in b.names) == term.intercept
                and len(b.names) >= term.q
            ),
            None,
        )
        if block is not None:
            blocks.remove(block)
            slopes = tuple(n for n in block.names if n != INTERCEPT)
        else:
            slopes = tuple(n for s in term.labels for n in dummies.get(s, [s]))
        terms.append(
            RandomTerm(term.group, term.intercept, slopes, term.correlated)
        )
    return spec.with_changes(random=tuple(terms))


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


def fitted_equations(fit: object, group_level: Collection[str] = ()) -> ModelEquations:
    """``model_equations`` with lme4's fixed effects and ``VarCorr`` substituted."""
    return model_equations(
        fit.spec,  # type: ignore[attr-defined]
        fit.fixef_names,  # type: ignore[attr-defined]
        fit.beta,  # type: ignore[attr-defined]
        fit.varcorr,  # type: ignore[attr-defined]
        group_level,
    )


def _residual_distribution(obs: str, varcorr: object | None) -> str:
    variance = (
        r"\sigma^2" if varcorr is None else latex_number(varcorr.residual_variance)  # type: ignore[attr-defined]
    )
    return rf"\varepsilon_{{{obs}}} \sim N(0,\ {variance})"


def _term_distributions(spec: ModelSpec, slots: list[_Slot], varcorr: object | None) -> list[str]:
    factors = list(spec.factor_names)
    by_name = {s.name: s for s in slots}
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
    ``max_groups`` levels; slopes are every non-intercept coefficient, an interaction
    written as the product of its parts (``1.044 \\cdot meanses \\cdot cses``)."""
    from lib.present.summary import coef_table  # local: summary imports heavy pandas helpers

    table = coef_table(fit, group)  # type: ignore[arg-type]
    names = [c for c in table.columns if c != INTERCEPT]
    bodies = [
        r" \cdot ".join(latex_text(p.label) for p in c.parts)
        for c in coefficient_parts(fit.spec, names)  # type: ignore[attr-defined]
    ]
    rows = table.iloc[:max_groups]
    intercepts = rows[INTERCEPT].to_numpy(float) if INTERCEPT in table else np.zeros(len(rows))
    out = []
    for k in range(len(rows)):
        values = rows.iloc[k]
        parts = [(float(values[n]), body) for n, body in zip(names, bodies, strict=True)]
        out.append((str(rows.index[k]), _signed_sum([(float(intercepts[k]), ""), *parts])))
    return out
