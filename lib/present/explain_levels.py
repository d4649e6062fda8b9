"""Plain-language sentences for models with several random terms (nested or crossed).

``lib.present.explain`` handles the one-term model in the tutorial's words and hands
models with several terms to the functions here. Every number quoted comes
from the same result or table the page shows (``lib.present.summary.level_shares`` for
the shares), so the text cannot contradict the tables. User-supplied names
pass through ``lib.present.markdown.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lib.lmm import LmmFit
from lib.model.levels import enclosing_factors, factor_columns, factor_label
from lib.model.nesting import Pitfall
from lib.model.spec import INTERCEPT, GroupLevel, ModelSpec, RandomTerm
from lib.present import summary
from lib.present.markdown import code, md
from lib.present.numbers import num, pct

SINGULAR_SD = 1e-3  # an SD below this fraction of the residual SD counts as collapsed
# Below this many rows per group on average, most groups of a level hold one row: its
# variance can hardly be told apart from the residual variance (they are confounded
# exactly with one row per group).
FEW_ROWS_PER_GROUP = 2.0


@dataclass(frozen=True)
class Simplification:
    """A simpler model to offer after a singular fit: one random-effect toggle switched off.

    Attributes
    ----------
    effect : {"intercept", "slope", "correlation"}
        Which of the level's random-effect toggles to switch off.
    column : str or None
        The level's own grouping column (a term's first grouping column); None for the
        only level of a one-term model.
    label : str
        The button's text (Markdown, names escaped).
    """

    effect: Literal["intercept", "slope", "correlation"]
    column: str | None
    label: str


def every_level(column: str) -> bool:
    """``has_toggles`` when every level can be changed (the text then always offers)."""
    return True


def label(spec: ModelSpec, name: str) -> str:
    """A factor in words, escaped: ``class within school`` for ``class:school``."""
    try:
        return md(factor_label(factor_columns(spec, name)))
    except ValueError:
        return md(name)


def pitfall(pit: Pitfall, group: str, levels: Sequence[GroupLevel]) -> str:
    """The warning for a grouping column whose labels look reused within a level above
    (``lib.model.nesting.coding_pitfalls``), names escaped, for the current coding:
    ``group`` and ``levels`` are the sidebar's top column and lower levels."""
    rel = pit.relation
    low, up = md(rel.lower), md(rel.upper)
    if not levels:
        coded = "the only grouping column"
    elif pit.group != group:  # the fix swaps them: the lower column is really the top
        coded = f"the top grouping column, with {up} coded as crossed below it"
    else:
        coded = f"coded as crossed with {up}"
    ex = md(rel.example)
    repeat = "all" if rel.n_repeated == rel.n_lower else f"{rel.n_repeated}"
    text = (
        f"**Do the labels of {low} repeat across {up}?** {low} is {coded}, but "
        f"'{ex}' occurs in {rel.max_spread} of {rel.n_upper} {up} groups ({repeat} of its "
        f"{rel.n_lower} labels repeat), so every row labelled '{ex}' counts as one and the "
        f"same {low}. If {low} '{ex}' of one {up} is a different group from '{ex}' of "
        f"another, {low} is nested in {up}: lme4's "
        f"{code(f'(1 | {rel.upper}/{rel.lower})')}, with {rel.n_cells:,} groups. (If they "
        "really are the same, such as one sample tested on every plate, the factors are "
        "crossed: keep it.)"
    )
    if rel.rows_per_cell < FEW_ROWS_PER_GROUP:
        text += (
            f" Nested, those {rel.n_cells:,} groups hold {num(rel.rows_per_cell, 2)} rows each "
            f"on average, most of them a single row: the {low} level can then hardly be told "
            "apart from the residual (with one row per group they are the same variance), "
            "so expect its variance near zero or a singular fit."
        )
    return text


def _effect(name: str, outcome: str) -> str:
    return f"baseline {md(outcome)}" if name == INTERCEPT else f"slope of {md(name)}"


def formula(spec: ModelSpec) -> str:
    """What every term does, quoting each term as the formula shows it."""
    parts = []
    for term in spec.random:
        g = label(spec, term.name)
        above = enclosing_factors(spec, term.name)
        around = f" around its {label(spec, above[-1])}'s" if above else ""
        slopes = [md(s) for s in term.labels]
        gives = (["its own baseline" + around] if term.intercept else []) + (
            [f"its own slope of {' and '.join(f'**{s}**' for s in slopes)}" + around]
            if slopes
            else []
        )
        if term.correlated or term.q == 1:
            extra = " (their correlation is estimated too)" if term.intercept and slopes else ""
            parts.append(f"{code(term.formula())} gives each {g} {' and '.join(gives)}{extra}.")
        else:
            parts.append(
                f"{code(term.formula())} gives each {g} {' and '.join(gives)}, "
                "varying independently."
            )
    crossed = _crossed_pairs(spec)
    if crossed:
        parts.append(
            "Crossed factors: "
            + "; ".join(f"every {a} can meet every {b}" for a, b in crossed)
            + ", so each row gets one effect of each."
        )
    return " ".join(parts)


def _crossed_pairs(spec: ModelSpec) -> list[tuple[str, str]]:
    terms = {t.name: t for t in spec.random}
    names = list(terms)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if not set(terms[a].group) & set(terms[b].group):
                pairs.append((label(spec, a), label(spec, b)))
    return pairs


def varcorr(fit: LmmFit) -> str:
    """Each variance component in words, then the shares at each level."""
    spec, y = fit.spec, fit.spec.outcome
    out = []
    for vc in fit.varcorr.terms:
        g = label(spec, vc.group)
        for k, name in enumerate(vc.names):
            out.append(
                f"The {md(vc.group)} {md(name)} variance ({num(vc.variances[k])}, SD "
                f"{num(vc.sd[k])}) is the variation in {_effect(name, y)} between "
                f"{g} groups."
            )
        out += correlation_sentence(vc, "Their correlation", f"{g} groups")
    out.append(
        f"The residual variance ({num(fit.varcorr.residual_variance)}) is the variation left "
        "among observations that share all their groups."
    )
    out.append(shares(fit))
    return " ".join(out)


def shares(fit: LmmFit) -> str:
    """The multilevel ICC sentence, from ``lib.present.summary.level_shares``."""
    table = summary.level_shares(fit)
    rows = table[table["Share"].notna()]
    spec, y = fit.spec, md(fit.spec.outcome)
    # From the top level down (fewest groups first), the residual last.
    size = {**fit.ngroups, "Residual": fit.nobs + 1}
    rows = rows.iloc[sorted(range(len(rows)), key=lambda i: size[rows["Level"].iloc[i]])]
    parts = []
    for level, share in zip(rows["Level"], rows["Share"], strict=True):
        if level == "Residual":
            parts.append(f"{pct(share)} within groups (residual)")
        else:
            parts.append(f"{pct(share)} between {label(spec, level)} groups")
    text = f"Of the variance in {y}: " + _join(parts) + "."
    if len(rows) < len(table):
        text += (
            " Slope variances are in other units and have no share; read them in the "
            "Random effects table."
        )
    return text


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def icc(fit: LmmFit) -> str:
    """The adjusted ICC with several factors: all random variances together."""
    factors = ", ".join(md(name) for name in fit.ngroups)
    return (
        f"{pct(fit.icc.adjusted)} of the variance not explained by the fixed effects lies "
        f"between groups, counting every grouping level together ({factors}; adjusted ICC "
        f"{num(fit.icc.adjusted)}). The share of each level is in the table above."
    )


def fewest_groups(fit: LmmFit) -> str:
    """``30 school`` for the factor with the fewest levels (it limits the df most)."""
    name, n = min(fit.ngroups.items(), key=lambda item: item[1])
    return f"{n} {md(name)}"


def ranef(fit: LmmFit, group: str) -> str:
    """The highest and lowest groups of one factor, relative to what encloses them."""
    factor = fit.factor(group)
    above = enclosing_factors(fit.spec, group)
    relative = f"its {label(fit.spec, above[-1])}'s line" if above else "the fixed effect"
    b = np.asarray(factor.modes, float)
    out = []
    for k, name in enumerate(factor.names):
        hi, lo = int(np.argmax(b[:, k])), int(np.argmin(b[:, k]))
        what = "baseline" if name == INTERCEPT else f"slope of {md(name)}"
        out.append(
            f"{md(factor.levels[hi])} has the highest {what} ({num(b[hi, k])} above "
            f"{relative}), {md(factor.levels[lo])} the lowest ({num(b[lo, k])})."
        )
    if above:
        out.append(
            f"A {label(fit.spec, group)} group's line adds its own effect to its "
            f"{label(fit.spec, above[-1])}'s."
        )
    return " ".join(out)


def collapsed(fit: LmmFit) -> tuple[str, str] | None:
    """The first (term, effect) whose SD collapsed to (almost) zero, or None."""
    residual = max(fit.varcorr.residual_sd, 1e-300)
    for vc in fit.varcorr.terms:
        for k, name in enumerate(vc.names):
            if vc.sd[k] / residual < SINGULAR_SD:
                return vc.group, name
    return None


def singular(
    fit: LmmFit, has_toggles: Callable[[str], bool] = every_level
) -> tuple[str, Simplification | None]:
    """Which term collapsed, and the change that drops it (see
    ``lib.present.explain.singular``): None when ``has_toggles`` says the app cannot
    change that term's level, or when nothing would be left."""
    spec = fit.spec
    found = collapsed(fit)
    if found is not None:
        group, name = found
        term = _term(spec, group, name)
        what = "baselines" if name == INTERCEPT else f"slopes of {md(name)}"
        text = (
            f"The model is **singular**: the variance of the {what} between "
            f"{label(spec, group)} groups ({code(term.formula())}) is estimated as (almost) "
            "zero. The data show no detectable differences there beyond what the other "
            "levels and the residual noise explain, so this term is at the boundary of what "
            "the model allows. "
        )
        column = term.group[0]
        if not has_toggles(column) or (len(spec.random) == 1 and term.q == 1):
            return text, None
        effect = "intercept" if name == INTERCEPT else "slope"
        if term.q == 1:
            button = f"Drop the term {code(term.formula())}"
        else:
            button = f"Drop the random {effect} of {md(group)}"
        return text + "Try the model without it:", Simplification(effect, column, button)
    for vc in fit.varcorr.terms:
        corr = vc.correlation
        if vc.correlated and len(vc.names) > 1 and np.nanmax(np.abs(np.tril(corr, -1))) > 0.99:
            text = (
                "The model is **singular**: the random intercepts and slopes of "
                f"{label(spec, vc.group)} are estimated as perfectly correlated (±1), so the "
                "model cannot tell them apart. Try the model without that correlation:"
            )
            column = factor_columns(spec, vc.group)[0]
            if not has_toggles(column):
                return text, None
            button = f"Remove the correlation of {md(vc.group)}"
            return text, Simplification("correlation", column, button)
    return (
        "The model is **singular**: a variance component is at the boundary of what the model "
        "allows. Simplify the random effects.",
        None,
    )


def _term(spec: ModelSpec, group: str, effect: str) -> RandomTerm:
    for term in spec.random:
        if term.name == group and effect in term.names:
            return term
    return next(t for t in spec.random if t.name == group)


def correlation_sentence(vc: object, opening: str, groups: str) -> list[str]:
    """What an intercept-slope correlation says (none when uncorrelated or undefined):
    ``"<opening> 0.45 says <groups> with a higher baseline tend to have higher slopes."``"""
    if not (vc.correlated and len(vc.names) > 1):  # type: ignore[attr-defined]
        return []
    r = vc.correlation[1, 0]  # type: ignore[attr-defined]
    if not np.isfinite(r):
        return []
    direction = "higher" if r > 0 else "lower"
    return [
        f"{opening} {num(r, 2)} says {groups} with a higher baseline tend to have "
        f"{direction} slopes."
    ]
