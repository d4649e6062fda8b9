"""How two grouping factors relate: nested, crossed, or nested with reused labels.

The classic pitfall of multilevel data: classes are labelled ``A``, ``B``, ``C``
in every school, so the column ``class`` alone lumps class A of one school
together with class A of every other school. lme4's ``(1 | school/class)``
(= ``(1 | school) + (1 | class:school)``) codes it as intended; ``(1 | class)``
silently pools unrelated classes. From the labels alone, such data look exactly
like crossed factors (every sample tested on every plate), so this module only
reports what the labels show and flags the likely cases; the user decides.

Definitions for a lower factor L and an upper factor U (rows with a missing
label in either are left out):

* *nested*: every L label occurs within one U group (``n_cells == n_lower``);
* *repeats across upper*: some L label occurs in several U groups;
* *crossed*: every combination of an L and a U label occurs;
* *likely implicit nesting*: L's labels repeat across U and the L-within-U
  groups have more than one row each on average, so coding L as nested in U
  gives groups that can be estimated (with one row per combination, as in a
  crossed design without replicates, it would not).

Which of two such factors is the lower one? The labels alone cannot say: "class
A occurs in 30 schools" and "school 1 occurs with 6 class labels" describe the
same table of combinations. ``orient`` decides with the rest of the table:

1. *unique labels*: a factor nested in the other (each label in one group) is the
   lower one;
2. *level attributes*: a factor whose groups share the values of other columns
   (schools with a gender policy ``schgend`` and an average intake ``schavg``) is a
   real level; one without any (pupil number 17, pooled over the 65 schools it
   occurs in, shares nothing) is a label reused within it. mlmRev's Exam needs
   this rule: its ``student`` numbers restart in every school but are 650 distinct
   labels against 65 schools, so the next rule alone would put school below student;
3. *fewer labels*: otherwise the factor with fewer labels is the reused one
   (classes A-F in 30 schools, occasions 1-9 of 26 boys).

A column that is constant within the groups of a finer grouping factor
(``schgend`` and ``vr`` within school) describes those groups: nesting it in
another column would only group (or cut across) schools by their attributes, so
no advice is given for it (``finer_factor``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.model.levels import level_factors
from lib.model.spec import CROSSED, NESTED, GroupLevel
from lib.table.columns import (
    complete_rows,
    dense_unique,
    factor_codes,
    interaction_codes,
    is_numeric_column,
    missing_column_message,
)

MIN_UPPER_LEVELS = 3  # a two-level "upper" factor (sex, treatment arm) is rarely a level
MAX_CANDIDATES = 8
MAX_ATTRIBUTE_COLUMNS = 60  # columns looked at for level attributes (wide files)
# The rules of ``orient``, in the order they are tried.
UNIQUE_LABELS, LEVEL_ATTRIBUTES, FEWER_LABELS = "unique labels", "level attributes", "fewer labels"


@dataclass(frozen=True)
class Relation:
    """What the labels of a lower and an upper grouping factor show about each other.

    Attributes
    ----------
    lower, upper : str
        Factor names (several columns joined by ":", as lme4 names interactions).
    n_rows : int
        Rows with a label in every column of both factors.
    n_lower, n_upper : int
        Distinct labels of each factor.
    n_cells : int
        Distinct (lower, upper) combinations present: the groups of the nested coding.
    n_repeated : int
        Lower labels that occur in more than one upper group.
    max_spread : int
        The largest number of upper groups one lower label occurs in.
    example : str
        A lower label that occurs in ``max_spread`` upper groups (empty if none repeats).
    """

    lower: str
    upper: str
    n_rows: int
    n_lower: int
    n_upper: int
    n_cells: int
    n_repeated: int
    max_spread: int
    example: str

    @property
    def nested(self) -> bool:
        """Each lower label lies within one upper group."""
        return self.n_repeated == 0

    @property
    def repeats_across_upper(self) -> bool:
        """The same lower label occurs in several upper groups."""
        return self.n_repeated > 0

    @property
    def crossed(self) -> bool:
        """Every combination of a lower and an upper label occurs."""
        return self.n_lower > 1 and self.n_upper > 1 and self.n_cells == self.n_lower * self.n_upper

    @property
    def rows_per_cell(self) -> float:
        """Mean rows per (lower, upper) combination."""
        return self.n_rows / self.n_cells if self.n_cells else 0.0

    @property
    def likely_implicit_nesting(self) -> bool:
        """Lower labels repeat across upper groups and the nested coding is estimable."""
        return self.repeats_across_upper and self.n_upper > 1 and self.n_cells < self.n_rows

    @property
    def kind(self) -> str:
        """``"nested"``, ``"crossed"`` or ``"partly crossed"`` (labels repeat, some
        combinations missing)."""
        if self.nested:
            return "nested"
        return "crossed" if self.crossed else "partly crossed"


def _names(columns: str | Sequence[str]) -> tuple[str, ...]:
    return (columns,) if isinstance(columns, str) else tuple(columns)


class Factors:
    """A frame's grouping factors, coded once: their codes and the relations between them.

    A pitfall check asks for the same few columns and pairs many times (``orient``,
    ``finer_factor``); at 10^5 rows coding them anew each time took seconds. Every
    function here takes a frame or a ``Factors`` of it.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._codes: dict[tuple[str, ...], tuple[np.ndarray, tuple[str, ...]]] = {}
        self._relations: dict[tuple[tuple[str, ...], tuple[str, ...]], Relation] = {}

    def codes(self, names: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
        """Codes of the factor of ``names`` in every row (-1 where a label is missing, by
        the one complete-rows rule) and its levels."""
        if names not in self._codes:
            usable, _ = complete_rows(self.frame[list(names)].reset_index(drop=True), names)
            part, levels = interaction_codes(usable, list(names))
            codes = np.full(len(self.frame), -1, dtype=np.int64)
            codes[usable.index.to_numpy()] = part
            self._codes[names] = (codes, tuple(levels))
        return self._codes[names]

    def relation(self, lower: str | Sequence[str], upper: str | Sequence[str]) -> Relation:
        """``factor_relation`` of the two factors."""
        low, up = _names(lower), _names(upper)
        if (low, up) not in self._relations:
            self._relations[(low, up)] = self._count(low, up)
        return self._relations[(low, up)]

    def _count(self, low: tuple[str, ...], up: tuple[str, ...]) -> Relation:
        for name in dict.fromkeys(low + up):
            if name not in self.frame.columns:
                raise DataError(missing_column_message(name, self.frame.columns))
        low_codes, low_levels = self.codes(low)
        up_codes, up_levels = self.codes(up)
        both = (low_codes >= 0) & (up_codes >= 0)
        low_name, up_name = ":".join(low), ":".join(up)
        if not both.any():
            raise DataError(
                f"No row has values in both '{low_name}' and '{up_name}'; choose columns "
                "with fewer missing values."
            )
        low_codes, up_codes = low_codes[both], up_codes[both]
        n_up = max(len(up_levels), 1)
        cells, _ = dense_unique(low_codes * n_up + up_codes, float(len(low_levels)) * n_up)
        spread = np.bincount(cells // n_up, minlength=len(low_levels))
        widest = int(np.argmax(spread))
        return Relation(
            lower=low_name,
            upper=up_name,
            n_rows=int(both.sum()),
            n_lower=int(np.count_nonzero(spread)),
            n_upper=int(np.count_nonzero(np.bincount(up_codes, minlength=n_up))),
            n_cells=len(cells),
            n_repeated=int((spread > 1).sum()),
            max_spread=int(spread[widest]),
            example=str(low_levels[widest]) if spread[widest] > 1 else "",
        )


def _factors(frame: pd.DataFrame | Factors) -> Factors:
    return frame if isinstance(frame, Factors) else Factors(frame)


def factor_relation(
    frame: pd.DataFrame | Factors, lower: str | Sequence[str], upper: str | Sequence[str]
) -> Relation:
    """Count how the labels of ``lower`` spread over the groups of ``upper``.

    Parameters
    ----------
    frame : DataFrame or Factors
    lower, upper : str or sequence of str
        A grouping column, or several columns meaning their interaction.

    Raises
    ------
    DataError
        A column is missing, or no row has labels in both factors.
    """
    return _factors(frame).relation(lower, upper)


def candidate_factors(
    frame: pd.DataFrame, first: Sequence[str] = (), limit: int = MAX_CANDIDATES
) -> tuple[str, ...]:
    """Columns that could be grouping factors: labels (text, logical or whole numbers)
    with 2 to n/2 distinct values; ``first`` (if usable) lead, at most ``limit`` in all."""
    n = len(frame)
    found = []
    for column in [*first, *(c for c in frame.columns if c not in first)]:
        if column not in frame.columns or column in found:
            continue
        series = frame[column]
        if is_numeric_column(series):
            values = series.dropna().to_numpy(dtype=float)
            if not np.all(np.mod(values, 1) == 0):
                continue
        distinct = series.nunique(dropna=True)
        if 2 <= distinct <= max(2, n // 2):
            found.append(str(column))
        if len(found) == limit:
            break
    return tuple(found)


def factor_sizes(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One row per factor: its number of levels and the median rows per level."""
    rows = []
    for column in columns:
        codes, levels = factor_codes(frame[column])
        counts = np.bincount(codes[codes >= 0], minlength=len(levels))
        rows.append(
            {
                "factor": column,
                "levels": len(levels),
                "median rows per level": float(np.median(counts)) if len(counts) else 0.0,
            }
        )
    return pd.DataFrame(rows, columns=["factor", "levels", "median rows per level"])


def level_attributes(
    frame: pd.DataFrame | Factors, factors: Sequence[str], limit: int = MAX_ATTRIBUTE_COLUMNS
) -> dict[str, tuple[str, ...]]:
    """For each factor, the other columns that are constant within each of its groups.

    A column counts when it takes at least two values and every group of the factor
    has one value of it (a missing value counts as a value): a school's gender
    policy, its average intake. Each column is coded once for all factors; only the
    first ``limit`` columns of the frame are looked at, which bounds the time on
    wide files.
    """
    factors_of = _factors(frame)
    table = factors_of.frame
    columns = list(table.columns[:limit])
    # Counted before coding: labelling the 10^6 distinct values of a measured column
    # took seconds, and a column with more values than groups varies within one.
    distinct = {c: table[c].nunique(dropna=True) for c in columns}
    found: dict[str, tuple[str, ...]] = {}
    for factor in factors:
        if factor not in table.columns:
            raise DataError(missing_column_message(factor, table.columns))
        codes, levels = factors_of.codes((factor,))
        present = codes >= 0
        keep = []
        for column in columns:
            if column == factor or not 2 <= distinct[column] <= len(levels):
                continue
            values, labels = factors_of.codes((column,))
            if len(labels) < 2:
                continue
            # A missing value (code -1) counts as a value of its own.
            keys = codes[present] * (len(labels) + 1) + values[present] + 1
            pairs, _ = dense_unique(keys, float(len(levels)) * (len(labels) + 1))
            if len(pairs) == len(levels):
                keep.append(str(column))
        found[factor] = tuple(keep)
    return found


@dataclass(frozen=True)
class Orientation:
    """Which of two grouping factors lies below the other, and by which rule.

    Attributes
    ----------
    relation : Relation
        Counted with the lower factor as ``relation.lower``.
    rule : str
        ``UNIQUE_LABELS``, ``LEVEL_ATTRIBUTES`` or ``FEWER_LABELS`` (module docstring).
    upper_attributes, lower_attributes : tuple of str
        Columns constant within the groups of each factor.
    """

    relation: Relation
    rule: str
    upper_attributes: tuple[str, ...]
    lower_attributes: tuple[str, ...]


def orient(
    frame: pd.DataFrame | Factors,
    a: str,
    b: str,
    attributes: Mapping[str, tuple[str, ...]] | None = None,
) -> Orientation:
    """Decide which of the grouping columns ``a`` and ``b`` is the lower level.

    The rules, in order (see the module docstring): a factor nested in the other is
    the lower; else a factor whose groups carry attributes (``level_attributes``)
    is the upper when the other's carry none; else the factor with fewer labels is
    the lower (ties: ``a``). ``attributes`` may hold ``level_attributes`` already
    computed for both.
    """
    factors = _factors(frame)
    attrs = attributes if attributes is not None else level_attributes(factors, (a, b))
    own = {name: tuple(c for c in attrs.get(name, ()) if c not in (a, b)) for name in (a, b)}
    ab, ba = factors.relation(a, b), factors.relation(b, a)
    if ab.nested or ba.nested:
        rel, rule = (ab if ab.nested else ba), UNIQUE_LABELS
    elif bool(own[a]) != bool(own[b]):
        rel, rule = (ba if own[a] else ab), LEVEL_ATTRIBUTES
    else:
        rel, rule = (ab if ab.n_lower <= ab.n_upper else ba), FEWER_LABELS
    return Orientation(rel, rule, own[rel.upper], own[rel.lower])


def finer_factor(
    frame: pd.DataFrame | Factors, rel: Relation, factors: Sequence[str]
) -> str | None:
    """A factor among ``factors`` whose groups ``rel.lower`` describes, or None.

    ``rel.lower`` describes the groups of a factor F when it is constant within each
    of them (F is nested in it) and F is not simply the nested coding: F cuts across
    ``rel.upper`` (``vr``, a school's intake band, against the pupils' own ``intake``
    band) or has more groups than the two have combinations (``schgend`` and ``vr``,
    both constant within each of 65 schools, make only 9). Coding such a column as
    nested groups F's groups by a description; it never finds a level below. The
    nested coding itself (``class_id`` within ``class`` and ``school``, as many groups
    as combinations) does not count. The price: a repeated-measures id of the
    lowest units (pupils measured twice) also silences the advice for reused class
    labels above them.
    """
    coded = _factors(frame)
    for factor in factors:
        if factor in (rel.lower, rel.upper):
            continue
        finer = coded.relation(factor, rel.lower)
        if not finer.nested:
            continue
        if finer.n_lower > rel.n_cells or not coded.relation(factor, rel.upper).nested:
            return factor
    return None


def relation_table(frame: pd.DataFrame | Factors, columns: Sequence[str]) -> pd.DataFrame:
    """How every pair of ``columns`` relates, one row per pair.

    Each pair is listed lower factor first, as ``orient`` decides (``class_id``
    nested in ``school``; ``class`` partly crossed with ``school``: its labels are
    the ones reused across groups). Columns: factor, relation (``nested in``,
    ``crossed with``, ``partly crossed with``), other, the levels of each, the
    combinations present, how many labels of the first repeat across the other,
    and the rule that decided the order.
    """
    factors = _factors(frame)
    attributes = level_attributes(factors, columns)
    rows = []
    for a, b in combinations(columns, 2):
        found = orient(factors, a, b, attributes)
        rel = found.relation
        word = {"nested": "nested in", "crossed": "crossed with"}.get(
            rel.kind, "partly crossed with"
        )
        rows.append(
            {
                "factor": rel.lower,
                "relation": word,
                "other": rel.upper,
                "levels": rel.n_lower,
                "levels (other)": rel.n_upper,
                "combinations": rel.n_cells,
                "labels in several groups": rel.n_repeated,
                "order by": found.rule,
            }
        )
    names = [
        "factor",
        "relation",
        "other",
        "levels",
        "levels (other)",
        "combinations",
        "labels in several groups",
        "order by",
    ]
    return pd.DataFrame(rows, columns=names)


def implicit_upper(
    frame: pd.DataFrame | Factors,
    lower: str,
    candidates: Sequence[str],
    attributes: Mapping[str, tuple[str, ...]] | None = None,
) -> Relation | None:
    """The factor ``lower`` is most likely nested in with reused labels, or None.

    A candidate qualifies when ``orient`` puts ``lower`` below it (so school is never
    offered as nested in student, nor 30 schools as "nested" in 6 class labels),
    ``lower``'s labels repeat across its groups with several rows per combination
    (``Relation.likely_implicit_nesting``), it has at least ``MIN_UPPER_LEVELS``
    levels (``sex`` does not group classes), and ``lower`` does not describe the
    groups of a finer candidate (``finer_factor``). Of several qualifying factors, one
    nested in another qualifying factor wins over it (pupil numbers restart within
    classes, not within the schools or regions the classes lie in); then the one
    with the fewest combinations.
    """
    factors = _factors(frame)
    others = [c for c in candidates if c != lower]
    attrs = attributes if attributes is not None else level_attributes(factors, [lower, *others])
    found: list[Relation] = []
    for upper in others:
        rel = orient(factors, lower, upper, attrs).relation
        if rel.lower != lower or not rel.likely_implicit_nesting:
            continue
        if rel.n_upper < MIN_UPPER_LEVELS or finer_factor(factors, rel, candidates):
            continue
        found.append(rel)
    finest = [
        rel
        for rel in found
        if not any(o is not rel and factors.relation(o.upper, rel.upper).nested for o in found)
    ]
    return min(finest or found, key=lambda rel: rel.n_cells, default=None)


@dataclass(frozen=True)
class Pitfall:
    """A grouping column coded as crossed whose labels look reused within a level above.

    Attributes
    ----------
    relation : Relation
        How the column's labels spread over the groups of the level above
        (``relation.lower`` is the column, ``relation.upper`` the factor above).
    group : str
        The top grouping column of the suggested coding.
    levels : tuple of GroupLevel
        The lower levels of the suggested coding (the column nested in ``upper``).
    """

    relation: Relation
    group: str
    levels: tuple[GroupLevel, ...]


def coding_pitfalls(
    frame: pd.DataFrame,
    group: str,
    levels: Sequence[GroupLevel] = (),
    candidates: Sequence[str] = (),
) -> tuple[Pitfall, ...]:
    """Grouping choices that probably pool groups with reused labels, with the fix.

    * A lower level coded *crossed* whose labels repeat across the groups of the
      level above with several rows per combination, when ``orient`` puts it below
      that level and it does not describe a finer candidate's groups: the fix codes
      it as nested. When the level above is the top column and ``orient`` puts the
      *top* column below (student at the top, school crossed below it), the fix swaps
      them: the lower column becomes the top with the other nested in it.
    * With a single grouping column, a column among ``candidates`` that the
      group's labels are most likely nested in (``implicit_upper``): the fix
      makes that column the top level with the group nested in it.
    """
    levels = tuple(levels)
    above_of = level_factors(group, levels)
    coded = Factors(frame)
    names = list(dict.fromkeys([group, *(level.column for level in levels), *candidates]))
    attrs = level_attributes(coded, names)
    found = []
    for k, level in enumerate(levels):
        if level.relation != CROSSED:
            continue
        above = above_of[k]
        rel = coded.relation(level.column, above)
        if not rel.likely_implicit_nesting or finer_factor(coded, rel, names):
            continue
        if len(above) == 1 and orient(coded, level.column, above[0], attrs).relation.lower != (
            level.column
        ):
            if k == 0 and len(levels) == 1:  # swap: the level's column is the real top
                swapped = coded.relation(group, level.column)
                found.append(Pitfall(swapped, level.column, (GroupLevel(group),)))
            continue
        fixed = levels[:k] + (replace(level, relation=NESTED),) + levels[k + 1 :]
        found.append(Pitfall(relation=rel, group=group, levels=fixed))
    if not levels:
        rel = implicit_upper(coded, group, [c for c in candidates if c != group], attrs)
        if rel is not None:
            found.append(Pitfall(relation=rel, group=rel.upper, levels=(GroupLevel(group),)))
    return tuple(found)
