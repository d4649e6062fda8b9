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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.model.levels import level_factors
from lib.model.spec import CROSSED, NESTED, GroupLevel
from lib.table.columns import complete_rows, factor_codes, interaction_codes, is_numeric_column

MIN_UPPER_LEVELS = 3  # a two-level "upper" factor (sex, treatment arm) is rarely a level
MAX_CANDIDATES = 8


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


def factor_relation(
    frame: pd.DataFrame, lower: str | Sequence[str], upper: str | Sequence[str]
) -> Relation:
    """Count how the labels of ``lower`` spread over the groups of ``upper``.

    Parameters
    ----------
    frame : DataFrame
    lower, upper : str or sequence of str
        A grouping column, or several columns meaning their interaction.

    Raises
    ------
    DataError
        A column is missing, or no row has labels in both factors.
    """
    low, up = _names(lower), _names(upper)
    clean, _ = complete_rows(frame, list(dict.fromkeys(low + up)))
    low_name, up_name = ":".join(low), ":".join(up)
    if len(clean) == 0:
        raise DataError(
            f"No row has values in both '{low_name}' and '{up_name}'; choose columns with "
            "fewer missing values."
        )
    low_codes, low_levels = interaction_codes(clean, list(low))
    up_codes, up_levels = interaction_codes(clean, list(up))
    cells = np.unique(low_codes * len(up_levels) + up_codes)
    spread = np.bincount(cells // len(up_levels), minlength=len(low_levels))
    widest = int(np.argmax(spread))
    return Relation(
        lower=low_name,
        upper=up_name,
        n_rows=len(clean),
        n_lower=len(low_levels),
        n_upper=len(up_levels),
        n_cells=len(cells),
        n_repeated=int((spread > 1).sum()),
        max_spread=int(spread[widest]),
        example=str(low_levels[widest]) if spread[widest] > 1 else "",
    )


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


def relation_table(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """How every pair of ``columns`` relates, one row per pair.

    A nested pair is listed lower first (``class_id`` in ``school``), any other
    pair with the factor of fewer labels first (``class`` partly crossed with
    ``school``: its labels are the ones reused across groups). Columns: factor,
    relation (``nested in``, ``crossed with``, ``partly crossed with``), other,
    the levels of each, the combinations present and how many labels of the
    first repeat across the other.
    """
    rows = []
    for a, b in combinations(columns, 2):
        ab = factor_relation(frame, a, b)
        ba = factor_relation(frame, b, a)
        if ab.nested or ba.nested:
            rel = ab if ab.nested else ba
        else:  # the factor with fewer labels is the one whose labels repeat more
            rel = ab if ab.n_lower <= ab.n_upper else ba
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
    ]
    return pd.DataFrame(rows, columns=names)


def implicit_upper(frame: pd.DataFrame, lower: str, candidates: Sequence[str]) -> Relation | None:
    """The factor ``lower`` is most likely nested in with reused labels, or None.

    A candidate qualifies when ``lower``'s labels repeat across its groups with
    several rows per combination (``Relation.likely_implicit_nesting``), it has
    at least ``MIN_UPPER_LEVELS`` levels (``sex`` does not group classes) and it
    is not itself a finer coding of ``lower`` (``class_id`` within ``class``), and
    it has at least as many groups as ``lower`` has labels: reused labels are
    few (classes ``A`` to ``F`` in 30 schools), and the reverse reading (30
    schools "nested" in 6 class labels) is not offered. Among the qualifying
    factors, the one with the fewest combinations (the coarsest grouping) wins.
    """
    best: Relation | None = None
    for upper in candidates:
        if upper == lower:
            continue
        rel = factor_relation(frame, lower, upper)
        if not rel.likely_implicit_nesting or rel.n_upper < max(MIN_UPPER_LEVELS, rel.n_lower):
            continue
        if factor_relation(frame, upper, lower).nested:
            continue
        if best is None or rel.n_cells < best.n_cells:
            best = rel
    return best


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
      level above, with several rows per combination
      (``Relation.likely_implicit_nesting``): the fix codes it as nested.
    * With a single grouping column, a column among ``candidates`` that the
      group's labels are most likely nested in (``implicit_upper``): the fix
      makes that column the top level with the group nested in it.
    """
    levels = tuple(levels)
    factors = level_factors(group, levels)
    found = []
    for k, level in enumerate(levels):
        if level.relation != CROSSED:
            continue
        rel = factor_relation(frame, level.column, factors[k])
        if rel.likely_implicit_nesting:
            fixed = levels[:k] + (replace(level, relation=NESTED),) + levels[k + 1 :]
            found.append(Pitfall(relation=rel, group=group, levels=fixed))
    if not levels:
        rel = implicit_upper(frame, group, [c for c in candidates if c != group])
        if rel is not None:
            found.append(Pitfall(relation=rel, group=rel.upper, levels=(GroupLevel(group),)))
    return tuple(found)
