"""Grouping levels: from "class nested in school" to lme4's random-effect terms.

The app describes a multilevel model level by level, from the top: a first
grouping column (``school``), then optionally lower ones, each *nested in* the
level above or *crossed with* it, and per level a random intercept, a random
slope of the predictor and their correlation. This module turns that
description into ``RandomTerm`` values and back, and labels rows with the
levels of an interaction, so that pages can show any factor of a fit.

Nesting follows lme4's ``(1 | school/class)`` = ``(1 | school) + (1 | class:school)``:
a nested level's grouping factor is the interaction of its column with the
factor of the level above, lower column first (``class:school``); a crossed
level is its own column (``(1 | plate) + (1 | sample)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import SpecError
from lib.model.spec import NESTED, GroupLevel, ModelSpec, RandomTerm
from lib.table.columns import complete_rows, interaction_codes


@dataclass(frozen=True)
class LevelEffects:
    """The random effects one level asks for.

    Attributes
    ----------
    intercept : bool
        A random intercept per group of this level.
    slope : bool
        Random slopes per group: of the predictor, or of ``slopes`` when given.
    correlated : bool
        Intercept and slopes correlated (``(1 + x | g)``) or not (``(1 | g) + (0 + x | g)``).
    slopes : tuple of str
        The columns with a random slope at this level when ``slope`` is on (the CLI takes
        any number, ``(1 + x + z | g)``); empty: the predictor alone.
    """

    intercept: bool = True
    slope: bool = False
    correlated: bool = True
    slopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "slopes", tuple(self.slopes))

    @property
    def empty(self) -> bool:
        return not (self.intercept or self.slope)


def level_factors(group: str, levels: Sequence[GroupLevel] = ()) -> tuple[tuple[str, ...], ...]:
    """The grouping columns of each level's factor, top level first.

    ``("school", [GroupLevel("class")])`` gives ``(("school",), ("class", "school"))``:
    a nested level adds its column in front of the factor above (lme4's
    ``class:school``); a crossed level stands alone.

    Raises
    ------
    SpecError
        A column is used for two levels.
    """
    columns = [group, *(level.column for level in levels)]
    for k, column in enumerate(columns):
        if column in columns[:k]:
            raise SpecError(
                f"Column '{column}' is chosen for two grouping levels; choose a different "
                "column for each level."
            )
    factors = [(group,)]
    for level in levels:
        above = factors[-1] if level.relation == NESTED else ()
        factors.append((level.column, *above))
    return tuple(factors)


def level_spec(
    outcome: str,
    group: str,
    levels: Sequence[GroupLevel],
    effects: Sequence[LevelEffects],
    *,
    fixed: Sequence[str] = (),
    slope: str | None = None,
    reml: bool = True,
) -> ModelSpec:
    """The model the sidebar describes: one random term per level that has effects.

    Parameters
    ----------
    outcome : str
    group : str
        The top grouping column.
    levels : sequence of GroupLevel
        Lower grouping columns, in order (second, third...).
    effects : sequence of LevelEffects
        One per level, the top level first (``len(levels) + 1`` entries).
    fixed : sequence of str
        Fixed-effect predictors besides the intercept.
    slope : str, optional
        The predictor that gets a random slope where a level asks for one and names no
        ``LevelEffects.slopes`` of its own.
    reml : bool

    Raises
    ------
    SpecError
        Inconsistent choices, with a message saying which level and what to change.
    """
    if len(effects) != len(levels) + 1:
        raise SpecError(
            f"Expected random-effect choices for {len(levels) + 1} level(s), got {len(effects)}."
        )
    factors = level_factors(group, levels)
    terms = []
    for factor, choice in zip(factors, effects, strict=True):
        own = choice.slopes or ((slope,) if slope else ())
        slopes = own if choice.slope else ()
        if not choice.intercept and not slopes:
            if len(factors) == 1:
                # One level: the term's own message says what to switch on.
                RandomTerm(group=factor, intercept=False)
            continue
        terms.append(
            RandomTerm(
                group=factor,
                intercept=choice.intercept,
                slopes=slopes,
                correlated=choice.correlated,
            )
        )
    if not terms:
        raise SpecError(
            "No grouping level has a random effect: switch on a random intercept or slope "
            "for at least one level."
        )
    return ModelSpec(outcome=outcome, fixed=tuple(fixed), random=tuple(terms), reml=reml)


def factor_label(columns: Sequence[str]) -> str:
    """A factor in words: ``class within school`` for lme4's ``class:school``."""
    return " within ".join(columns)


def factor_columns(spec: ModelSpec, name: str) -> tuple[str, ...]:
    """The grouping columns of the factor called ``name`` (lme4's name) in ``spec``.

    Raises
    ------
    SpecError
        No term of the spec has that factor.
    """
    for term in spec.random:
        if term.name == name:
            return term.group
    raise SpecError(f"The model has no grouping factor '{name}'; it has {list(spec.factor_names)}.")


def enclosing_factors(spec: ModelSpec, name: str) -> tuple[str, ...]:
    """Factors of ``spec`` that contain the factor ``name`` (its levels above, when nested).

    ``school`` encloses ``class:school``: every class:school group lies within
    one school group, because school is one of its columns. Crossed factors
    share no column and enclose nothing.
    """
    columns = set(factor_columns(spec, name))
    return tuple(
        other
        for other in spec.factor_names
        if other != name and set(factor_columns(spec, other)) < columns
    )


def factor_labels(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Each row's level of the factor of ``columns``, named as lme4 names it.

    Rows with a missing value in one of the columns get a missing label. The
    labels are those of ``lib.table.columns.interaction_codes``, so they match the
    levels of a fit's ``ranef``.
    """
    clean, _ = complete_rows(frame, list(columns))
    codes, levels = interaction_codes(clean, list(columns))
    labels = pd.Series(np.asarray(levels, dtype=object)[codes], index=clean.index, dtype=object)
    return labels.reindex(frame.index)


def with_factor(frame: pd.DataFrame, columns: Sequence[str], keep: Sequence[str]) -> pd.DataFrame:
    """The ``keep`` columns plus one column named like the factor of ``columns``.

    For one column this is that column itself; for several, a new column
    ``class:school`` holding the interaction's labels (an existing column of
    that name is replaced in the returned copy only).
    """
    name = ":".join(columns)
    out = frame.loc[:, [c for c in dict.fromkeys(keep) if c != name]]
    out[name] = frame[columns[0]] if len(columns) == 1 else factor_labels(frame, columns)
    return out


def group_coefficients(fit, frame: pd.DataFrame, name: str) -> pd.DataFrame:  # noqa: ANN001
    """Each group's own coefficients at one level, its enclosing levels' effects included.

    For ``class:school`` in ``(1 | school) + (1 | class:school)`` a class's line
    is fixed effect + its school's random effect + its own (the conditional
    prediction for that class, lme4's ``predict`` at its rows); lme4's ``coef()``
    would add only the class's own effect. For a factor that no other factor
    encloses (the top level, or a crossed one) this equals ``coef()``.

    Returns
    -------
    DataFrame
        One row per level of the factor (indexed by its labels), one column per
        fixed effect plus random slopes without a fixed part.
    """
    spec = fit.spec
    own = fit.factor(name)
    names = list(fit.fixef_names)
    columns = names + [r for r in own.names if r not in names]
    beta = dict(zip(fit.fixef_names, np.asarray(fit.beta, float), strict=True))
    out = np.tile([beta.get(c, 0.0) for c in columns], (own.nlevels, 1))
    _add_modes(out, columns, own, np.arange(own.nlevels))
    enclosing = enclosing_factors(spec, name)
    if enclosing:
        clean, _ = complete_rows(frame, list(spec.columns))
        own_codes = _codes(clean, factor_columns(spec, name), own.levels)
        first_row = _first_rows(own_codes, own.nlevels)
        for other in enclosing:
            factor = fit.factor(other)
            codes = _codes(clean, factor_columns(spec, other), factor.levels)
            _add_modes(out, columns, factor, codes[first_row])
    index = pd.Index(list(own.levels), name=name)
    return pd.DataFrame(out, index=index, columns=columns)


def _codes(clean: pd.DataFrame, columns: Sequence[str], levels: Sequence[str]) -> np.ndarray:
    codes, found = interaction_codes(clean, list(columns))
    if tuple(found) != tuple(levels):
        raise SpecError("The data no longer match the fitted model's groups; fit the model again.")
    return codes


def _first_rows(codes: np.ndarray, n: int) -> np.ndarray:
    """The first row of each level 0..n-1 (every level has rows: codes come from the data)."""
    present, first = np.unique(codes, return_index=True)
    if len(present) != n:
        raise SpecError("The data no longer match the fitted model's groups; fit it again.")
    return first


def _add_modes(out: np.ndarray, columns: list[str], factor, rows: np.ndarray) -> None:  # noqa: ANN001
    modes = np.asarray(factor.modes, float)
    for k, effect in enumerate(factor.names):
        if effect in columns:
            out[:, columns.index(effect)] += modes[rows, k]
