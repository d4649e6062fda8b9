"""Centring a predictor: grand-mean, within-group, and its group mean as a predictor.

A level-1 predictor x mixes two relations with the outcome: within groups (how y
changes when x moves inside one group) and between groups (how the group means
of y follow the group means of x). Centring separates them (Enders & Tofighi
2007; Snijders & Bosker 2012, sec. 4.6; Raudenbush & Bryk 2002, sec. 2.5):

* **grand-mean centring**: ``x_gmc = x - mean(x)``, the same model as with x,
  with the intercept moved to the average x;
* **within-group centring** (centring within cluster): ``x_cwc = x - mean of x
  in its group``, which carries only the within-group variation;
* **the group mean** ``x_mean_g`` as a predictor of its own. With ``x_cwc``,
  its coefficient is the between-group effect; with x itself, it is the
  contextual effect (between minus within).

Each choice creates a new column, named so that the formula shows what was
made (``mAch ~ ses_cwc + ses_mean_school + (ses_cwc | school)``); a name that
is already a column gets ``_2``, ``_3``... The source column is kept.

Which rows the means are taken over: the rows the model uses, i.e. the rows
complete in every column the model needs (``lib.table.columns.complete_rows``,
the rule every fit follows). That is what an R user gets by dropping incomplete
rows first and then using ``ave()``::

    d <- d[complete.cases(d[, c("mAch", "ses", "school")]), ]
    d$ses_mean_school <- ave(d$ses, d$school)
    d$ses_cwc <- d$ses - d$ses_mean_school
    d$ses_gmc <- d$ses - mean(d$ses)

Rows left out get a missing value in the new columns (the model drops them
anyway). ``tests/reference/centring_reference.R`` checks these columns against
R's on mlmRev's Hsb82, whose ``cses`` and ``meanses`` are exactly these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from lib.errors import DataError, SpecError
from lib.model.spec import FixedTerm, ModelSpec
from lib.table.columns import (
    complete_rows,
    interaction_codes,
    is_numeric_column,
    non_numeric_example,
    not_numeric_error,
    require_columns,
)

NONE, GRAND, WITHIN = "none", "grand", "within"
METHODS = (NONE, GRAND, WITHIN)
SUFFIX = {GRAND: "_gmc", WITHIN: "_cwc"}  # grand-mean centred, centred within cluster


@dataclass(frozen=True)
class Centring:
    """How one numeric predictor is centred.

    Attributes
    ----------
    column : str
        The predictor.
    method : str
        ``"none"``, ``"grand"`` (minus the grand mean) or ``"within"`` (minus
        its group's mean).
    group : tuple of str
        The grouping column(s) whose means are used (several columns: their
        interaction, as ``class:school``); needed for ``"within"`` and for
        ``group_mean``.
    group_mean : bool
        Also add the group mean of ``column`` as a predictor.
    """

    column: str
    method: str = NONE
    group: tuple[str, ...] = ()
    group_mean: bool = False

    def __post_init__(self) -> None:
        group = (self.group,) if isinstance(self.group, str) else tuple(self.group)
        object.__setattr__(self, "group", group)
        if not isinstance(self.column, str) or not self.column:
            raise SpecError(f"A centring needs a column name, got {self.column!r}.")
        if self.method not in METHODS:
            raise SpecError(
                f"The centring of '{self.column}' must be one of {list(METHODS)}, "
                f"got {self.method!r}."
            )
        if (self.method == WITHIN or self.group_mean) and not group:
            raise SpecError(
                f"Centring '{self.column}' within groups or adding its group mean needs a "
                "grouping column."
            )
        if self.column in group:
            raise SpecError(f"Column '{self.column}' cannot be centred within itself.")

    @property
    def changes(self) -> bool:
        """Whether this centring creates any column."""
        return self.method != NONE or self.group_mean


@dataclass(frozen=True)
class CreatedColumn:
    """A column a centring made.

    Attributes
    ----------
    name : str
        The new column's name.
    source : str
        The predictor it was made from.
    kind : str
        ``"grand"`` (x minus the grand mean), ``"within"`` (x minus its group's
        mean) or ``"mean"`` (its group's mean).
    group : tuple of str
        The grouping column(s) for ``"within"`` and ``"mean"``.
    """

    name: str
    source: str
    kind: str
    group: tuple[str, ...] = ()

    def describe(self) -> str:
        """What the column holds, in words (plain text; the caller escapes names)."""
        g = ":".join(self.group)
        if self.kind == GRAND:
            return f"{self.source} minus the mean of {self.source} over all rows used"
        if self.kind == WITHIN:
            return f"{self.source} minus the mean of {self.source} in its {g}"
        return f"the mean of {self.source} in each {g}"


def created_columns(
    centrings: Sequence[Centring], existing: Iterable[object]
) -> tuple[CreatedColumn, ...]:
    """The columns ``centrings`` make, named without clashing with ``existing``."""
    taken = {str(c) for c in existing}
    out = []
    for c in centrings:
        wanted = []
        if c.method != NONE:
            wanted.append((c.column + SUFFIX[c.method], c.method))
        if c.group_mean:
            wanted.append((f"{c.column}_mean_{'_'.join(c.group)}", "mean"))
        for base, kind in wanted:
            name, k = base, 1
            while name in taken:
                k += 1
                name = f"{base}_{k}"
            taken.add(name)
            out.append(CreatedColumn(name, c.column, kind, c.group if kind != GRAND else ()))
    return tuple(out)


def _check(frame: pd.DataFrame, centrings: Sequence[Centring]) -> None:
    seen = set()
    for c in centrings:
        if c.column in seen:
            raise SpecError(f"Column '{c.column}' is centred twice; choose one centring.")
        seen.add(c.column)
        require_columns(frame.columns, [c.column, *c.group])
        if not is_numeric_column(frame[c.column]):
            raise not_numeric_error(
                "centred predictor", c.column, non_numeric_example(frame[c.column])
            )


def group_means(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each row's group mean of ``values`` (R's ``ave(x, g)``), groups coded 0..G-1."""
    counts = np.bincount(codes)
    sums = np.bincount(codes, weights=values, minlength=counts.size)
    means = sums / np.maximum(counts, 1)
    return means[codes]


def centre(
    frame: pd.DataFrame, centrings: Sequence[Centring], model_columns: Sequence[str] = ()
) -> tuple[pd.DataFrame, tuple[CreatedColumn, ...]]:
    """A copy of ``frame`` with the centred columns added, and what was added.

    Parameters
    ----------
    frame : DataFrame
    centrings : sequence of Centring
    model_columns : sequence of str
        The other columns the model uses: means are taken over the rows complete
        in these, the centred columns and their groups (module docstring).

    Returns
    -------
    (DataFrame, tuple of CreatedColumn)
        Rows not used keep a missing value (NaN) in the new columns.
    """
    _check(frame, centrings)
    active = [c for c in centrings if c.changes]
    created = created_columns(active, frame.columns)
    out = frame.copy(deep=False)
    if not created:
        return out, created
    needed = [*model_columns, *(c.column for c in active), *(g for c in active for g in c.group)]
    # Positions, not labels: the frame's index may repeat.
    clean, _ = complete_rows(frame.reset_index(drop=True), list(dict.fromkeys(needed)))
    if clean.empty:
        raise DataError(
            "No row has a value in every column the model uses, so no mean can be taken: "
            f"check the columns {sorted(set(needed))}."
        )
    rows = clean.index.to_numpy() if len(clean) < len(frame) else None
    codes_by_group: dict[tuple[str, ...], np.ndarray] = {}
    for made in created:
        x = clean[made.source].to_numpy(dtype=float)
        if made.kind == GRAND:
            values = x - x.mean()
        else:
            if made.group not in codes_by_group:
                codes_by_group[made.group] = interaction_codes(clean, made.group)[0]
            means = group_means(x, codes_by_group[made.group])
            values = x - means if made.kind == WITHIN else means
        column = np.full(len(frame), np.nan)
        if rows is None:
            column[:] = values
        else:
            column[rows] = values
        out[made.name] = column
    return out, created


def centred_spec(
    spec: ModelSpec, centrings: Sequence[Centring], created: Sequence[CreatedColumn]
) -> ModelSpec:
    """``spec`` with each centred predictor replaced by its centred column (in every
    fixed term and random slope) and each group mean added as a main effect."""
    rename: dict[str, str] = {}
    means: list[str] = []
    for made in created:
        if made.kind == "mean":
            means.append(made.name)
        else:
            rename[made.source] = made.name
    fixed: list[str | FixedTerm] = []
    for term in spec.fixed_terms:
        columns = tuple(rename.get(c, c) for c in term.columns)
        fixed.append(columns[0] if len(columns) == 1 else FixedTerm(columns))
    fixed += [m for m in means if m not in fixed]
    random = tuple(
        replace(
            t,
            slopes=tuple(rename.get(s, s) for s in t.slopes),
            interactions=tuple(tuple(rename.get(c, c) for c in i) for i in t.interactions),
        )
        for t in spec.random
    )
    return spec.with_changes(fixed=tuple(fixed), random=random)


@dataclass(frozen=True, eq=False)
class CentredModel:
    """A model after centring: the data with the new columns, the spec that uses them.

    Attributes
    ----------
    frame : DataFrame
    spec : ModelSpec
        Its formula names the created columns.
    created : tuple of CreatedColumn
    """

    frame: pd.DataFrame
    spec: ModelSpec
    created: tuple[CreatedColumn, ...]


def apply_centring(
    frame: pd.DataFrame, spec: ModelSpec, centrings: Sequence[Centring]
) -> CentredModel:
    """Centre the predictors of ``spec`` over the rows the model uses and rewrite the spec.

    The rows are those complete in every column of ``spec`` (and the centrings'
    columns and groups); the returned spec fits to exactly those rows.
    """
    new_frame, created = centre(frame, centrings, spec.columns)
    return CentredModel(new_frame, centred_spec(spec, centrings, created), created)


def group_level_columns(frame: pd.DataFrame, spec: ModelSpec) -> tuple[str, ...]:
    """Fixed-effect columns constant within every group of the first grouping factor.

    These are level-2 predictors (a school's sector, its mean ses): the equations
    write them in the level-2 equations (``lib.present.equations``). Judged on the
    rows the model uses; a random-slope column is never one.
    """
    if not spec.random:
        return ()
    clean, _ = complete_rows(frame, spec.columns)
    if clean.empty:
        return ()
    first = spec.random[0]
    codes = interaction_codes(clean, first.group)[0]
    order = np.argsort(codes, kind="stable")
    boundaries = np.flatnonzero(np.diff(codes[order])) + 1
    out = []
    for column in spec.fixed_columns:
        if column in spec.slope_columns or column in first.group:
            continue
        series = clean[column]
        if is_numeric_column(series):
            values = series.to_numpy(dtype=float)[order]
        else:
            values = interaction_codes(clean, (column,))[0][order]
        starts = np.r_[0, boundaries]
        first_values = np.repeat(values[starts], np.diff(np.r_[starts, len(values)]))
        if np.array_equal(values, first_values):
            out.append(column)
    return tuple(out)
