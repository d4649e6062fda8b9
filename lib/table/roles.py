"""Column roles: which column is the outcome, the predictor, the grouping factors; how
they are guessed from a new table, and the checks a choice of roles must pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.model.spec import GroupLevel
from lib.table.columns import (
    PREDICTOR_WORDS,
    is_numeric_column,
    looks_like_group,
    missing_column_message,
    non_numeric_example,
    not_numeric_error,
    outcome_score,
    tokens,
)
from lib.table.outcome_kind import can_be_outcome


@dataclass(frozen=True)
class Roles:
    """Which column plays which part in the models.

    Attributes
    ----------
    outcome : str
        Numeric response.
    predictor : str or None
        The numeric predictor drawn on the x axis; it gets the fixed and/or
        random slope. None when the data have no second numeric column.
    group : str
        Grouping factor (schools, pigs, firms...), the top level.
    covariates : tuple of str
        Further fixed-effect predictors (numeric or categorical).
    levels : tuple of GroupLevel
        Lower grouping columns, each nested in or crossed with the level above
        (``class`` nested in ``school``); empty for a two-level model.
    """

    outcome: str
    predictor: str | None
    group: str
    covariates: tuple[str, ...] = ()
    levels: tuple[GroupLevel, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", tuple(self.covariates))
        object.__setattr__(self, "levels", tuple(self.levels))

    @property
    def group_columns(self) -> tuple[str, ...]:
        """The grouping columns, top level first."""
        return (self.group, *(level.column for level in self.levels))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the roles use, without duplicates."""
        names = (self.outcome, self.predictor, *self.group_columns, *self.covariates)
        return tuple(dict.fromkeys(n for n in names if n is not None))


def numeric_columns(frame: pd.DataFrame) -> tuple[str, ...]:
    """Columns usable as outcome or predictor (real numbers, not booleans)."""
    return tuple(c for c in frame.columns if is_numeric_column(frame[c]))


FEW_GROUPS = 5  # a factor with fewer levels (sex, an intake band) is a poor grouping factor
# Name words of numbers that label rows rather than measure anything.
ID_WORDS = frozenset(
    "student pupil child kid number nr no num code index idx case row obs record respondent "
    "eleve schueler schuler alumno alunno aluno leerling nummer numero".split()
)


def _group_score(frame: pd.DataFrame, column: str) -> float | None:
    series = frame[column]
    n_levels = series.nunique(dropna=True)
    n = int(series.notna().sum())
    if n_levels < 2 or n_levels > max(2, n // 2):
        return None
    score = 0.0
    if looks_like_group(column):
        score += 4
    if not is_numeric_column(series):
        score += 2
    else:
        values = series.dropna().to_numpy(dtype=float)
        # Only whole numbers can be group codes; inf and NaN are not (and np.mod of
        # them warns).
        if not np.all(np.isfinite(values)) or not np.all(np.mod(values, 1) == 0):
            return None
    if n_levels < FEW_GROUPS:
        score -= 3  # sex or a three-band category: rarely the clusters a model needs
    # Between two otherwise equal candidates, more groups make a better mixed model.
    return score + min(n_levels, 1000) / 1000


def _whole_numbers(values: np.ndarray) -> bool:
    return bool(len(values)) and bool(np.all(np.mod(values, 1) == 0))


def looks_like_id(frame: pd.DataFrame, column: str, group: str | None = None) -> bool:
    """Whether a numeric column labels rows or groups rather than measuring something.

    Whole numbers named like a group or an id (``school``, ``subject_id``, ``student``,
    ``case_no``), or whole numbers that are (almost) unique within each group of
    ``group`` while taking far more values than the largest group has rows: pupil
    numbers restarting in every school (mlmRev's Exam: 650 numbers, at most 198
    pupils a school). A time index (occasions 1-9 of every boy, the 12 weeks of every
    pig) takes about as many values as a group has rows and is not an id.
    """
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    if not _whole_numbers(values):
        return False
    if looks_like_group(column) or tokens(column) & ID_WORDS:
        return True
    if group is None or group not in frame.columns or group == column:
        return False
    pairs = frame[[group, column]].dropna()
    if not len(pairs):
        return False
    largest = int(pairs[group].value_counts().iloc[0])
    distinct = pairs[column].nunique()
    unique_within = len(pairs.drop_duplicates()) >= 0.99 * len(pairs)
    return unique_within and distinct > 2 * largest


def predictor_score(frame: pd.DataFrame, column: str, group: str | None = None) -> float:
    """How much a numeric column looks like the predictor of a slope (higher is better).

    Names such as ``time``, ``hours`` or ``ses`` count most; ids count against
    (``looks_like_id``: a school code or pupil number is a label, not an amount); a
    column constant within every group of ``group`` (a school's average intake)
    counts against, because a slope within groups needs the predictor to vary
    within them; decimals count a little for.
    """
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    finite = values[np.isfinite(values)]
    if not len(finite):
        return -math.inf
    score = 0.0
    if tokens(column) & PREDICTOR_WORDS:
        score += 4
    if looks_like_id(frame, column, group):
        score -= 4
    if not _whole_numbers(finite):
        score += 1
    if group is not None and group in frame.columns and group != column:
        pairs = frame[[group, column]].dropna()
        if len(pairs) and pairs.groupby(group, sort=False)[column].nunique().max() <= 1:
            score -= 2
    return score


def best_group(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> str | None:
    """The column that looks most like the grouping factor, ``exclude`` left out."""
    scores = {
        c: s
        for c in frame.columns
        if c not in exclude and (s := _group_score(frame, c)) is not None
    }
    return max(scores, key=lambda c: scores[c]) if scores else None


def best_outcome(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> str | None:
    """The numeric column that looks most like the outcome (ties: the later column)."""
    candidates = [c for c in numeric_columns(frame) if c not in exclude]
    if not candidates:
        return None
    ranked = [(outcome_score(frame[c], c), k) for k, c in enumerate(candidates)]
    return candidates[max(ranked)[1]]


def best_predictor(
    frame: pd.DataFrame, exclude: Sequence[str] = (), group: str | None = None
) -> str | None:
    """The numeric column that looks most like the predictor (``predictor_score``; ties:
    the earlier column), or None when no numeric column is left."""
    candidates = [c for c in numeric_columns(frame) if c not in exclude]
    if not candidates:
        return None
    ranked = [(predictor_score(frame, c, group), -k) for k, c in enumerate(candidates)]
    return candidates[-max(ranked)[1]]


def guess_roles(frame: pd.DataFrame) -> Roles:
    """Guess outcome, predictor and grouping column from names and types.

    The group is a column with repeated values (2 to n/2 distinct), preferring
    text columns, names such as ``school``, ``classe`` or ``*_id`` and at least
    ``FEW_GROUPS`` groups. The outcome is the numeric column that looks most like
    one (``lib.table.columns.outcome_score``: names such as ``score`` or
    ``Résultat`` in several languages, decimals with many distinct values; not an
    integer column with few values such as an age of 14-17); the predictor is the
    remaining numeric column that looks most like one (``predictor_score``: names
    such as ``time`` or ``age``, never an id such as a pupil number when another
    column is left, preferably varying within groups).

    Raises
    ------
    DataError
        When no numeric column or no grouping column can be found.
    """
    numeric = [c for c in numeric_columns(frame) if frame[c].nunique() > 2]
    if not numeric:
        numeric = list(numeric_columns(frame))
    if not numeric:
        raise DataError(
            "The data have no numeric column to use as the outcome; columns are "
            f"{', '.join(map(str, frame.columns[:10]))}."
        )
    group = best_group(frame)
    if group is None:
        # Nothing looks like a group: take any other column with repeated values and
        # let the validation report explain what is wrong with it.
        others = [c for c in frame.columns if c != numeric[-1] and frame[c].nunique() >= 2]
        if not others:
            raise DataError(
                "No column can serve as the grouping factor (a column whose values repeat, "
                "e.g. a school name or subject ID); add one to the data."
            )
        group = others[0]
    candidates = [c for c in numeric if c != group] or numeric
    # Ties go to the later column (an outcome is often the last column of a table).
    ranked = [(outcome_score(frame[c], c), k) for k, c in enumerate(candidates)]
    outcome = candidates[max(ranked)[1]]
    rest = [c for c in candidates if c != outcome]
    predictor = best_predictor(frame, [c for c in frame.columns if c not in rest], group)
    return Roles(outcome=outcome, predictor=predictor, group=group)


def check_roles(frame: pd.DataFrame, roles: Roles) -> None:
    """Every role column is in ``frame``; the outcome and predictor are numeric."""
    for column in roles.columns:
        if column not in frame.columns:
            raise DataError(missing_column_message(column, frame.columns))
    for role, column in (("outcome", roles.outcome), ("predictor", roles.predictor)):
        if role == "outcome" and can_be_outcome(frame[column]):
            continue  # numeric, or two-valued for a binomial model (issue 16)
        if column is not None and not is_numeric_column(frame[column]):
            raise not_numeric_error(role, column, non_numeric_example(frame[column]))


def check_usable(roles: Roles, n_used: int, n_groups: int) -> None:
    """Refuse roles that leave no complete row (``n_groups`` 0: not counted yet) or fewer
    than 2 groups among the complete rows."""
    if n_used == 0:
        raise DataError(
            f"No row has a value in every chosen column ({', '.join(roles.columns)}); choose "
            "columns with fewer missing values."
        )
    if 0 < n_groups < 2:
        raise DataError(
            f"The grouping column {roles.group!r} has {n_groups} distinct value(s) in the "
            "usable rows; a multilevel model needs at least 2 groups. Choose another column."
        )


OUTCOME, PREDICTOR, GROUP, COVARIATES, LEVELS = (
    "outcome",
    "predictor",
    "group",
    "covariates",
    "levels",
)


@dataclass(frozen=True)
class RoleSwitch:
    """A role that changed because another one did.

    Attributes
    ----------
    role : str
        ``OUTCOME``, ``PREDICTOR``, ``GROUP``, ``COVARIATES`` or ``LEVELS``.
    old, new : str or None
        The column before and after (for covariates and levels: the column dropped,
        and None).
    reason : str
        Plain text naming the columns in single quotes (escape it before Markdown).
    """

    role: str
    old: str | None
    new: str | None
    reason: str


@dataclass(frozen=True)
class RoleChange:
    """The roles after one role was set, and every other role that had to change.

    Attributes
    ----------
    roles : Roles
    switched : tuple of RoleSwitch
        Empty when only the role asked for changed; a page says each of them, so no
        role changes silently.
    """

    roles: Roles
    switched: tuple[RoleSwitch, ...]


def change_role(frame: pd.DataFrame, roles: Roles, role: str, column: str | None) -> RoleChange:
    """Set one role to ``column`` and repair the others that it takes a column from.

    A column plays one role: making the predictor the outcome frees the predictor,
    which then goes to the best remaining candidate (``best_predictor``: never a
    school code or pupil number while a measured column is left), and so on for the
    outcome (``best_outcome``) and the group (``best_group``), taken from the columns
    without a role first. A covariate or a lower
    grouping level that the column was is dropped (with the levels below it, which
    were defined against it). Each change is returned with its reason.

    Parameters
    ----------
    frame : DataFrame
    roles : Roles
        The roles before the change.
    role : str
        ``OUTCOME``, ``PREDICTOR`` or ``GROUP``.
    column : str or None
        The new column (None only for the predictor: no slope).

    Raises
    ------
    DataError
        An unknown role, a column not in the data, or a text column as the outcome or
        predictor.
    """
    if role not in (OUTCOME, PREDICTOR, GROUP):
        raise DataError(f"`role` must be 'outcome', 'predictor' or 'group', got {role!r}.")
    if column is None and role != PREDICTOR:
        raise DataError(f"The {role} needs a column; only the predictor may be none.")
    if column is not None:
        if column not in frame.columns:
            raise DataError(missing_column_message(column, frame.columns))
        two_valued = role == OUTCOME and can_be_outcome(frame[column])  # binomial (issue 16)
        if role != GROUP and not two_valued and not is_numeric_column(frame[column]):
            raise DataError(
                f"The {role} must be numeric, but {column!r} holds text or categories "
                f"(for example {non_numeric_example(frame[column])}). Choose a numeric column."
            )
    current = {OUTCOME: roles.outcome, PREDICTOR: roles.predictor, GROUP: roles.group}
    if current[role] == column:
        return RoleChange(roles, ())
    current[role] = column
    switched: list[RoleSwitch] = []
    freed = f"'{column}' is now the {role}"
    for other in (OUTCOME, GROUP, PREDICTOR):
        if other == role or current[other] != column:
            continue
        taken = [c for c in current.values() if c is not None]
        # First among the columns without a role, then (none left) from the others.
        others = [*roles.covariates, *(level.column for level in roles.levels)]
        if other == OUTCOME:
            new = best_outcome(frame, taken + others) or best_outcome(frame, taken)
            why = "the numeric column that looks most like an outcome"
        elif other == GROUP:
            new = best_group(frame, taken + others) or best_group(frame, taken)
            why = "the column that looks most like a grouping factor"
        else:
            group = current[GROUP]
            new = best_predictor(frame, taken + others, group) or best_predictor(
                frame, taken, group
            )
            why = "the numeric column that looks most like a predictor (not an id)"
        if new is None and other != PREDICTOR:
            raise DataError(
                f"With '{column}' as the {role}, no other column can be the {other}; "
                "choose a different column."
            )
        current[other] = new
        shown = f"'{new}', {why}" if new is not None else "none (no numeric column is left)"
        switched.append(RoleSwitch(other, column, new, f"{freed}; the {other} is now {shown}."))
    used = {c for c in current.values() if c is not None}
    covariates = tuple(c for c in roles.covariates if c not in used)
    for dropped in (c for c in roles.covariates if c in used):
        now = f"'{dropped}' is now the {_role_of(current, dropped)}"
        switched.append(
            RoleSwitch(COVARIATES, dropped, None, f"{now}, so it is no longer a fixed effect.")
        )
    levels: list[GroupLevel] = []
    for k, level in enumerate(roles.levels):
        if level.column in used:
            below = [lv.column for lv in roles.levels[k + 1 :]]
            reason = f"'{level.column}' is now the {_role_of(current, level.column)}"
            reason += ", so it is no longer a grouping level"
            if below:
                reason += f" (nor {', '.join(repr(c) for c in below)}, defined below it)"
            switched.append(RoleSwitch(LEVELS, level.column, None, reason + "."))
            break
        levels.append(level)
    new_roles = Roles(
        outcome=str(current[OUTCOME]),
        predictor=current[PREDICTOR],
        group=str(current[GROUP]),
        covariates=covariates,
        levels=tuple(levels),
    )
    return RoleChange(new_roles, tuple(switched))


def _role_of(current: dict[str, str | None], column: str) -> str:
    return next(role for role, value in current.items() if value == column)
