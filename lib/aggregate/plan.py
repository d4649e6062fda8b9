"""The aggregate a fit needs, described once, compiled to SQL for any engine.

``lib.model.design`` turns rows into y, X and Z; this module writes the same rules as
SQL over three relations, all with names chosen here:

``clean``  the used columns renamed ``c0, c1, ...``, rows with a NULL, NaN or
           +-inf in any of them removed (``lib.table.columns.complete_rows``);
``lv<i>``  per categorical fixed predictor: its distinct values with an id
           (their rank in the engine's sort) and a count; Python orders them as R
           does (``lib.table.columns.factor_codes``) and picks the dummy columns;
``rows``   ``y``, numeric columns ``v<i>`` (as DOUBLE), level dummies
           ``d<i>_<k>`` (CASE WHEN on the level id; every level, as an interaction
           may need all of them), products ``x<j>`` for the interaction columns of
           X (``lib.model.fixed``) and grouping columns ``g<i>``.

A ``GroupedSums`` is the whole statistical content of one GROUP BY: its keys
and the products to sum (``z_a z_b``, ``z_a x_j``, ``z_a y``, ...). The per-term
and per-pair aggregates of ``lib.lmm.stats`` are GroupedSums; ``grouped_sql``
compiles one for an engine, whose dialect enters only through identifier quoting,
the finiteness test and the quantile function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lib.aggregate.engines import NUMERIC

ONE = "1"  # the constant variable: the intercept of X and of Z


@dataclass(frozen=True)
class GroupedSums:
    """One GROUP BY: keys and the products whose sums it returns.

    Attributes
    ----------
    keys : tuple of str
        Column aliases of ``rows`` (``g0``...) or of joined tables.
    products : tuple of (str, str)
        Pairs of variables (``"1"``, ``"y"``, ``"v0"``, ``"d0_1"``...); each gives the
        column ``s<index>`` = sum over the group's rows of the product.
    """

    keys: tuple[str, ...]
    products: tuple[tuple[str, str], ...]

    def index(self, a: str, b: str) -> int:
        """The position of the product a*b (in either order)."""
        key = _pair(a, b)
        return self.products.index(key)


def _pair(a: str, b: str) -> tuple[str, str]:
    """One spelling per product: "1" sorts before every alias, so it comes first."""
    return (a, b) if a <= b else (b, a)


def products(*groups: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Distinct products, first-seen order (x*z and z*x are one product)."""
    seen: dict[tuple[str, str], None] = {}
    for group in groups:
        for a, b in group:
            seen.setdefault(_pair(a, b), None)
    return tuple(seen)


def sum_expression(a: str, b: str, qualifier: str = "") -> str:
    """SQL for the sum of a*b over a group (a count when both are the constant)."""
    col = (lambda v: f"{qualifier}{v}") if qualifier else (lambda v: v)
    if a == ONE and b == ONE:
        return "CAST(COUNT(*) AS DOUBLE)"
    if a == ONE or b == ONE:
        return f"SUM({col(b if a == ONE else a)})"
    return f"SUM({col(a)} * {col(b)})"


def grouped_sql(
    spec: GroupedSums, source: str, key_aliases: Sequence[str], with_id: bool = True
) -> str:
    """SELECT keys [, id], n, s0, s1, ... FROM source GROUP BY keys.

    ``id`` is the group's rank in the engine's own order of the keys, so the
    query is deterministic; Python maps ids to R's level order.
    """
    keys = ", ".join(spec.keys)
    cols = [f"{k} AS {alias}" for k, alias in zip(spec.keys, key_aliases, strict=True)]
    if with_id:
        cols.append(f"row_number() OVER (ORDER BY {keys}) - 1 AS id")
    cols.append("COUNT(*) AS n")
    cols += [f"{sum_expression(a, b)} AS s{i}" for i, (a, b) in enumerate(spec.products)]
    return f"SELECT {', '.join(cols)} FROM {source} GROUP BY {keys}"


@dataclass(frozen=True)
class RowsPlan:
    """How the user's columns become the relation ``rows`` (``lib.model.design``'s rules).

    Attributes
    ----------
    columns : tuple of str
        The used source columns; ``clean`` renames column i to ``c<i>``.
    kinds : mapping str -> str
        Each used column's kind (numeric, boolean, other).
    numeric : mapping str -> str
        Numeric column -> alias ``v<i>`` (fixed predictors and slopes).
    groups : mapping str -> str
        Grouping column -> alias ``g<i>``.
    categorical : tuple of str
        Non-numeric fixed predictors, each with a levels table ``lv<i>``.
    """

    columns: tuple[str, ...]
    kinds: Mapping[str, str]
    outcome: str
    numeric: Mapping[str, str]
    groups: Mapping[str, str]
    categorical: tuple[str, ...]

    def alias(self, column: str) -> str:
        return f"c{self.columns.index(column)}"


def rows_plan(spec, kinds: Mapping[str, str]) -> RowsPlan:  # noqa: ANN001 - ModelSpec
    """The plan for ``spec`` given the source's column kinds (columns already checked)."""
    columns = spec.columns
    fixed = spec.fixed_columns
    numeric_cols = [c for c in (*fixed, *spec.slope_columns) if kinds[c] == NUMERIC]
    return RowsPlan(
        columns=columns,
        kinds={c: kinds[c] for c in columns},
        outcome=spec.outcome,
        numeric={c: f"v{i}" for i, c in enumerate(dict.fromkeys(numeric_cols))},
        groups={c: f"g{i}" for i, c in enumerate(spec.group_columns)},
        categorical=tuple(c for c in fixed if kinds[c] != NUMERIC),
    )


def clean_sql(plan: RowsPlan, source: str, quote, finite) -> str:  # noqa: ANN001
    """The complete rows of the used columns (``lib.table.columns.complete_rows``)."""
    conditions = []
    cols = []
    for i, c in enumerate(plan.columns):
        q = quote(c)
        cols.append(f"{q} AS c{i}")
        cond = f"{q} IS NOT NULL"
        if plan.kinds[c] == NUMERIC:
            cond += f" AND {finite(q)}"
        conditions.append(cond)
    return f"SELECT {', '.join(cols)} FROM {source} WHERE {' AND '.join(conditions)}"


def levels_sql(plan: RowsPlan, column: str, clean: str) -> str:
    """Distinct values of one categorical column with their id and count."""
    c = plan.alias(column)
    return (
        f"SELECT {c} AS v, row_number() OVER (ORDER BY {c}) - 1 AS id, COUNT(*) AS n "
        f"FROM {clean} GROUP BY {c}"
    )


def rows_sql(
    plan: RowsPlan,
    clean: str,
    levels: Sequence[str],
    dummies: Sequence[Sequence[int]],
    interactions: Sequence[tuple[str, Sequence[str]]] = (),
) -> tuple[str, dict[str, list[str]]]:
    """The ``rows`` relation, and the dummy aliases of each categorical predictor.

    ``levels[i]`` names the levels table of ``plan.categorical[i]``; ``dummies[i]``
    lists the level ids that get a dummy column, in R's level order.
    ``interactions`` are columns of X that are products, ``(alias, factors)`` with
    factors among the numeric aliases ``v<i>`` and dummy aliases ``d<i>_<k>``
    (``lib.model.fixed.XColumn``); each becomes the product of their expressions
    (an alias cannot be used in the SELECT that defines it, in Spark SQL).
    """
    expressions = {a: f"CAST(r.{plan.alias(c)} AS DOUBLE)" for c, a in plan.numeric.items()}
    cols = [f"CAST(r.{plan.alias(plan.outcome)} AS DOUBLE) AS y"]
    joins = []
    dummy_aliases: dict[str, list[str]] = {}
    for i, (column, table, ids) in enumerate(zip(plan.categorical, levels, dummies, strict=True)):
        joins.append(f"JOIN {table} l{i} ON r.{plan.alias(column)} = l{i}.v")
        names = []
        for k, level_id in enumerate(ids):
            alias = f"d{i}_{k}"
            expressions[alias] = (
                f"CASE WHEN l{i}.id = {int(level_id)} THEN CAST(1 AS DOUBLE) "
                "ELSE CAST(0 AS DOUBLE) END"
            )
            names.append(alias)
        dummy_aliases[column] = names
    cols += [f"{expression} AS {alias}" for alias, expression in expressions.items()]
    cols += [
        " * ".join(f"({expressions[f]})" for f in factors) + f" AS {alias}"
        for alias, factors in interactions
    ]
    cols += [f"r.{plan.alias(c)} AS {a}" for c, a in plan.groups.items()]
    return f"SELECT {', '.join(cols)} FROM {clean} r {' '.join(joins)}", dummy_aliases


def key_join(table: str, alias: str, left: str, left_keys: Sequence[str]) -> str:
    """``JOIN table alias ON left.g0 = alias.k0 AND ...`` (a term table on its keys)."""
    on = " AND ".join(f"{left}.{g} = {alias}.k{i}" for i, g in enumerate(left_keys))
    return f"JOIN {table} {alias} ON {on}"
