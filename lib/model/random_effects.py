"""The columns of a random-effect term, as lme4's ``mkReTrms`` builds them.

lme4 (1.1-31, ``mkBlist``) evaluates a term's left side with R's ``model.matrix``,
so a categorical column there is coded exactly as in the fixed part
(``lib.model.fixed``; no second model matrix is written here):

* ``(urban | district)``, urban with levels N < Y: ``(Intercept)``, ``urbanY``;
* ``(0 + urban | district)``: ``urbanN``, ``urbanY`` (no intercept: all levels);
* ``(1 + age + urban | district)``: ``(Intercept)``, ``age``, ``urbanY``;
* ``(0 + standLRT:sex | school)``: ``standLRT:sexF``, ``standLRT:sexM`` (a slope of
  standLRT per level of sex; R codes the factor by all levels when the margin
  ``standLRT`` is not in the term).

The effects of one term are correlated (one full covariance block per level).

``(x || g)`` is lme4's ``expandDoubleVerts``: ``(1 | g) + (0 + x | g)``, one
term per column of the left side *as written*. A categorical column is not split
into its dummies: ``(f || g)`` is ``(1 | g) + (0 + f | g)``, whose second term
has all of f's levels, correlated among themselves (lme4's ``?lmer`` notes that
``||`` does not split factors). With an intercept that model is not identified
(the intercept's effect and each level's effect only appear as their sum, and
lme4 stops anywhere on the ridge), so it is refused with a message that offers
the models people mean (``refuse_overlapping``). Without one, ``(0 + x + f || g)``
is built as lme4's terms ``(0 + x | g) + (0 + f | g)``, one ``TermPiece`` each;
with numeric slopes only, an uncorrelated term stays one term with a diagonal
covariance, which is the same model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from lib.errors import DataError
from lib.model.fixed import XColumn, fixed_layout
from lib.model.spec import INTERCEPT, FixedTerm, RandomTerm, r_name
from lib.table.columns import factor_codes, is_numeric_column

#: Most levels a categorical column may have on the left of "|": a term with q
#: effects has q (q + 1) / 2 variance parameters (66 at 11 levels).
MAX_SLOPE_LEVELS = 10


@dataclass(frozen=True)
class TermPiece:
    """One lme4 term after ``expandDoubleVerts``: its formula term and its columns.

    Attributes
    ----------
    term : RandomTerm
        The term as lme4 fits it (``(0 + urban | district)`` for the second piece of
        ``(urban || district)``).
    layout : tuple of XColumn
        Its columns of Z, in lme4's order, named as lme4's ``cnms``.
    """

    term: RandomTerm
    layout: tuple[XColumn, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.layout)


def slope_levels(frame: pd.DataFrame, term: RandomTerm) -> dict[str, tuple[str, ...] | None]:
    """Per column on the term's left side: its levels (categorical) or None (numeric).

    Raises
    ------
    DataError
        A categorical column with one level, or with more than ``MAX_SLOPE_LEVELS``.
    """
    levels: dict[str, tuple[str, ...] | None] = {}
    for name in term.columns:
        series = frame[name]
        if is_numeric_column(series):
            levels[name] = None
            continue
        labels = factor_codes(series)[1]
        check_slope_factor(term, name, labels)
        levels[name] = labels
    return levels


def check_slope_factor(term: RandomTerm, name: str, labels: tuple[str, ...]) -> None:
    """A categorical column on the left of "|" needs 2 to ``MAX_SLOPE_LEVELS`` levels."""
    g = term.name
    if len(labels) < 2:
        shown = repr(labels[0]) if labels else "none"
        raise DataError(
            f"The categorical column {name!r} on the left of '| {g}' has only one value "
            f"({shown}) in the rows used, so its effect cannot vary between groups. Remove "
            f"it from the random term {term.formula()}."
        )
    if len(labels) > MAX_SLOPE_LEVELS:
        q = len(labels)
        raise DataError(
            f"The categorical column {name!r} has {q} levels: on the left of '| {g}' each "
            f"level gets its own random effect, {q * (q + 1) // 2} variances and correlations "
            f"for this term. At most {MAX_SLOPE_LEVELS} levels are fitted there. For one "
            f"variance per level of {name!r} within each group use (1 | {g}) + "
            f"(1 | {g}:{r_name(name)}), or group its levels first."
        )


def term_pieces(
    term: RandomTerm, levels: Mapping[str, tuple[str, ...] | None]
) -> tuple[TermPiece, ...]:
    """The lme4 terms ``term`` stands for, with their columns (module docstring)."""
    if term.correlated or all(levels[c] is None for c in term.columns):
        return (TermPiece(term, _layout(term, levels)),)
    factors = [s for s in term.slopes if levels[s] is not None]
    if term.intercept and factors:
        refuse_overlapping(term, factors[0], levels[factors[0]])  # type: ignore[arg-type]
    pieces = []
    if term.intercept:  # (1 + x:f || g): x's per-level slopes do not contain the intercept
        pieces.append(TermPiece(RandomTerm(term.group), (XColumn(INTERCEPT, ()),)))
    for slope in term.slopes:
        piece = RandomTerm(term.group, intercept=False, slopes=(slope,))
        pieces.append(TermPiece(piece, _layout(piece, levels)))
    for columns in term.interactions:
        piece = RandomTerm(term.group, intercept=False, interactions=(columns,))
        pieces.append(TermPiece(piece, _layout(piece, levels)))
    return tuple(pieces)


def refuse_overlapping(term: RandomTerm, factor: str, labels: tuple[str, ...]) -> None:
    """Refuse lme4's ``(1 | g) + (0 + f | g)`` (also ``(f || g)``): not identified.

    The intercept's effect and every level's effect add up for each row, so only
    their sums are identified: the criterion is flat along a ridge and lme4 stops
    anywhere on it (tests/reference/factor_slopes_reference.R, ``double_bar_ridge``:
    two optimizers, the same logLik, different variances).
    """
    g = ":".join(r_name(c) for c in term.group)
    f = r_name(factor)
    dummies = ", ".join(f"{factor}{label}" for label in labels)
    raise DataError(
        f"({f} || {g}) and (1 | {g}) + (0 + {f} | {g}) are the same model in lme4: a random "
        f"intercept plus an effect for every level of {factor!r} ({dummies}), since '||' "
        "does not split a categorical column. Each row gets the sum of the intercept's and "
        "its level's effect, so only those sums can be estimated and the variances cannot "
        f"be told apart. Write ({f} | {g}) for correlated effects, (0 + {f} | {g}) for one "
        f"effect per level, or (1 | {g}) + (1 | {g}:{f}) for one variance shared by the levels."
    )


def _layout(
    term: RandomTerm, levels: Mapping[str, tuple[str, ...] | None]
) -> tuple[XColumn, ...]:
    """R's ``model.matrix`` of the term's left side (``lib.model.fixed``)."""
    terms = [FixedTerm((s,)) for s in term.slopes] + [FixedTerm(i) for i in term.interactions]
    return fixed_layout(terms, term.intercept, levels)

