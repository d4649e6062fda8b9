"""Fit from statistics computed inside a SQL engine (DuckDB or Spark).

The queries, in order (each a scan of the used columns at most; nothing returns
rows, only per-level sums):

1. ``SELECT COUNT(*)`` of the source (for ``n_dropped``);
2. per categorical fixed predictor, its levels (GROUP BY the column);
3. per random term, the per-level sums of ``lib.lmm.stats.TermStats`` (GROUP BY the
   term's grouping columns), the first term also carrying the sums of X'X, X'y, y'y;
4. per pair of terms, Z_i'Z_j over the (level_i, level_j) pairs that occur;
5. after the optimum is found, one pass for the residual quantiles (exact, type 7)
   and var(X beta), with beta and the conditional modes sent to the engine as
   small tables and joined on the level ids; above ``quantiles.EXACT_ROWS`` rows
   two passes, so that the residuals are never held (``lib.aggregate.quantiles``).

Level order, dummy names and every check are ``lib.model.design``'s, applied to the
distinct values the engine returns, so the fit is the pandas engine's.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from lib.aggregate import quantiles
from lib.aggregate.engines import NUMERIC
from lib.aggregate.plan import (
    ONE,
    GroupedSums,
    RowsPlan,
    clean_sql,
    grouped_sql,
    key_join,
    levels_sql,
    products,
    rows_plan,
    rows_sql,
    sum_expression,
)
from lib.errors import DataError
from lib.lmm.fit import QUANTILE_PROBS, RowSummaries, fit_stats
from lib.lmm.result import LmmFit
from lib.lmm.stats import ModelStats, PairStats, TermStats
from lib.model.design import (
    RankDeficiencyWarning,
    check_factor,
    check_fixed,
    check_groups,
    check_rows,
    lme4_term_order,
)
from lib.model.fixed import fixed_layout, independent_columns, rank_message
from lib.model.spec import ModelSpec, is_derived
from lib.table.columns import (
    factor_codes,
    interaction_codes,
    not_numeric_error,
    require_columns,
)


@dataclass(frozen=True, eq=False)
class SqlTerm:
    """One random term as the engine holds it: its table and how ids map to R codes."""

    table: str
    keys: tuple[str, ...]  # aliases g<i> of its grouping columns in ``rows``
    z: tuple[str, ...]  # its Z variables ("1" or v<i>)
    codes: np.ndarray  # R code of the level with id i
    stats: TermStats


@dataclass(frozen=True, eq=False)
class SqlModel:
    """What the second pass needs: the engine, relation names and variables."""

    engine: object
    rows: str
    x: tuple[str, ...]  # X variables, intercept first
    terms: tuple[SqlTerm, ...]  # in ModelStats order
    nobs: int  # complete rows: decides how the residual quantiles are computed


def fit_engine(engine, spec: ModelSpec) -> LmmFit:  # noqa: ANN001 - DuckDBEngine | SparkEngine
    """Fit ``spec`` to the engine's source; the same numbers as ``lib.lmm.fit_lmm``.

    Raises
    ------
    ExplorerError
        The same DataError / FitError messages as the pandas engine.
    """
    start = time.perf_counter()
    stats, model = engine_stats(engine, spec)
    return fit_stats(stats, spec, lambda b, m, s: second_pass(model, b, m, s), start)


def _refuse_computed(spec: ModelSpec, kinds: dict, engine_name: str) -> None:
    """A column the formula computes (``log(x)``, ``I(x^2)``: ``lib.model.transforms``) is
    made from the rows in pandas; the SQL engines read the data's own columns only, so
    say that, not "not in the data" (the column's name is the expression)."""
    computed = [c for c in spec.columns if is_derived(c) and c not in kinds]
    if not computed:
        return
    label = {"duckdb": "DuckDB", "spark": "Spark"}.get(engine_name, engine_name)
    raise DataError(
        f"{computed[0]} is a column the formula computes, and the {label} engine fits from "
        "the data's own columns only. Computed columns need the pandas engine (the CLI's "
        "--engine pandas, its default; in the app, a file small enough to load), or add "
        "the column to the data first."
    )


def engine_stats(engine, spec: ModelSpec) -> tuple[ModelStats, SqlModel]:  # noqa: ANN001
    """``ModelStats`` computed by the engine, with lib.model.design's checks."""
    kinds = engine.schema()
    _refuse_computed(spec, kinds, getattr(engine, "name", "SQL"))
    inter = next((t for t in spec.random if t.interactions), None)
    if inter is not None:
        raise DataError(
            f"The random term {inter.formula()} has an interaction on the left of '|', which "
            "is fitted in memory (the CLI's --engine pandas), not by the DuckDB/Spark engines."
        )
    require_columns(list(kinds), spec.columns)
    plan = rows_plan(spec, kinds)
    name = engine.prefix
    clean = name + "clean"
    engine.view(clean, clean_sql(plan, engine.source, engine.quote, engine.finite))
    n_total = int(engine.run(f"SELECT COUNT(*) AS n FROM {engine.source}").column(0)[0].as_py())
    if kinds[spec.outcome] != NUMERIC:
        example = _example(engine, plan, clean, spec.outcome)
        raise not_numeric_error("outcome", spec.outcome, example)
    for column in spec.slope_columns:
        if kinds[column] != NUMERIC:
            raise not_numeric_error("random slope", column, _example(engine, plan, clean, column))

    # Categorical fixed predictors: distinct values, then R's order in Python.
    level_tables, dummy_ids, factor_levels = [], [], []
    nobs = None
    for i, column in enumerate(plan.categorical):
        table = f"{name}lv{i}"
        engine.materialize(table, levels_sql(plan, column, clean))
        got = engine.run(f"SELECT v, n FROM {table} ORDER BY id")
        codes, levels = factor_codes(_series(got.column("v"), column))
        order = np.argsort(codes)  # ids in R's level order
        level_tables.append(table)
        dummy_ids.append([int(k) for k in order])
        factor_levels.append((column, levels))
        nobs = int(np.sum(got.column("n").to_numpy()))
    for column, levels in factor_levels:
        check_factor(column, levels)

    # X's columns as lib.model.design builds them: products of numeric columns and
    # level dummies (d<i>_<k> is level k in R's order of categorical column i).
    known = dict(factor_levels)
    layout = fixed_layout(
        spec.fixed_terms, spec.intercept, {c: known.get(c) for c in spec.fixed_columns}
    )
    dummy_alias = {c: f"d{i}_" for i, c in enumerate(plan.categorical)}
    x, interactions = [], []
    for j, column in enumerate(layout):
        factors = [
            plan.numeric[c] if level is None else f"{dummy_alias[c]}{level}"
            for c, level in column.parts
        ]
        if not factors:
            x.append(ONE)
        elif len(factors) == 1:
            x.append(factors[0])
        else:
            x.append(f"x{j}")
            interactions.append((f"x{j}", factors))
    fixef_names = [c.name for c in layout]
    rows = name + "rows"
    sql, _ = rows_sql(plan, clean, level_tables, dummy_ids, interactions)
    engine.view(rows, sql)
    y = "y"

    # Per-term sums, in the spec's order; the first also carries the global sums.
    raw_terms = []
    global_products = products(
        [(a, b) for j, a in enumerate(x) for b in x[j:]], [(a, y) for a in x], [(y, y)]
    )
    for k, term in enumerate(spec.random):
        z = ([ONE] if term.intercept else []) + [plan.numeric[c] for c in term.slopes]
        keys = tuple(plan.groups[c] for c in term.group)
        grouped = GroupedSums(
            keys=keys,
            products=products(
                [(a, b) for i, a in enumerate(z) for b in z[i:]],
                [(a, b) for a in z for b in x],
                [(a, y) for a in z],
                global_products if k == 0 else (),
            ),
        )
        table = f"{name}t{k}"
        key_aliases = [f"k{i}" for i in range(len(keys))]
        engine.materialize(table, grouped_sql(grouped, rows, key_aliases))
        got = engine.run(f"SELECT * FROM {table} ORDER BY id")
        raw_terms.append((term, table, keys, tuple(z), grouped, got))

    nobs = int(np.sum(raw_terms[0][5].column("n").to_numpy())) if nobs is None else nobs
    check_rows(spec, nobs, n_total - nobs)
    terms = []
    for term, table, keys, z, grouped, got in raw_terms:
        frame = pd.DataFrame({c: _series(got.column(f"k{i}"), c) for i, c in enumerate(term.group)})
        codes, levels = interaction_codes(frame, term.group)
        check_groups(term, len(levels))
        stats = _term_stats(term, levels, codes, z, x, y, grouped, got)
        terms.append(SqlTerm(table=table, keys=keys, z=z, codes=codes, stats=stats))

    first = raw_terms[0][5]
    grouped0 = raw_terms[0][4]
    p = len(x)
    XtX = np.empty((p, p))
    for i, a in enumerate(x):
        for j, b in enumerate(x):
            XtX[i, j] = _total(first, grouped0, a, b)
    Xty = np.array([_total(first, grouped0, a, y) for a in x])
    yty = _total(first, grouped0, y, y)
    # lme4 drops columns that earlier ones determine (lib.model.design.drop_dependent);
    # here judged on X'X alone (lib.model.fixed.independent_columns without rows).
    kept = list(independent_columns(XtX))
    if len(kept) < p:
        warnings.warn(rank_message(p - len(kept)), RankDeficiencyWarning, stacklevel=2)
        x = [x[k] for k in kept]
        fixef_names = [fixef_names[k] for k in kept]
        XtX, Xty = XtX[np.ix_(kept, kept)], Xty[kept]
        terms = [_keep_columns(t, kept) for t in terms]
    check_fixed(nobs, fixef_names, XtX)

    # lme4's order of terms, as build_design (lib.model.design.lme4_term_order).
    terms = list(lme4_term_order(terms, lambda t: t.stats.nlevels))
    pairs = {}
    for i, ti in enumerate(terms):
        for j in range(i):
            pairs[(i, j)] = _pair_stats(engine, rows, ti, terms[j])
    stats = ModelStats(
        fixef_names=tuple(fixef_names),
        terms=tuple(t.stats for t in terms),
        pairs=pairs,
        XtX=XtX,
        Xty=Xty,
        yty=float(yty),
        nobs=nobs,
        n_dropped=n_total - nobs,
    )
    return stats, SqlModel(engine=engine, rows=rows, x=tuple(x), terms=tuple(terms), nobs=nobs)


def _keep_columns(term: SqlTerm, kept: list[int]) -> SqlTerm:
    stats = term.stats
    return replace(term, stats=replace(stats, ZtX=stats.ZtX[:, kept, :]))


def _series(column: pa.ChunkedArray, name: str) -> pd.Series:
    """Distinct values as pandas holds them, so factor_codes sorts and labels them as R."""
    return pd.Series(column.to_pandas(), name=name)


def _example(engine, plan: RowsPlan, clean: str, column: str) -> str:  # noqa: ANN001
    got = engine.run(f"SELECT {plan.alias(column)} AS v FROM {clean} LIMIT 1")
    return repr(str(got.column(0)[0].as_py())) if got.num_rows else "no values"


def _sums(got: pa.Table, grouped: GroupedSums, a: str, b: str) -> np.ndarray:
    return got.column(f"s{grouped.index(a, b)}").to_numpy().astype(float)


def _total(got: pa.Table, grouped: GroupedSums, a: str, b: str) -> float:
    return float(np.sum(_sums(got, grouped, a, b)))


def _term_stats(term, levels, codes, z, x, y, grouped, got) -> TermStats:  # noqa: ANN001
    """Per-level arrays in R's level order (ids are the engine's order)."""
    G, q, p = len(levels), len(z), len(x)
    ZtZ, ZtX, Zty = np.empty((q, q, G)), np.empty((q, p, G)), np.empty((q, G))
    for a in range(q):
        for b in range(q):
            ZtZ[a, b, codes] = _sums(got, grouped, z[a], z[b])
        for j in range(p):
            ZtX[a, j, codes] = _sums(got, grouped, z[a], x[j])
        Zty[a, codes] = _sums(got, grouped, z[a], y)
    counts = np.empty(G, dtype=np.int64)
    counts[codes] = got.column("n").to_numpy()
    return TermStats(term=term, levels=levels, counts=counts, ZtZ=ZtZ, ZtX=ZtX, Zty=Zty)


def _pair_stats(engine, rows: str, ti: SqlTerm, tj: SqlTerm) -> PairStats:  # noqa: ANN001
    """Z_i'Z_j by occurring (level_i, level_j) pair: one GROUP BY on both level ids."""
    cols = [
        sum_expression(a, b, qualifier="r.") + f" AS s{m}"
        for m, (a, b) in enumerate((a, b) for a in ti.z for b in tj.z)
    ]
    sql = (
        f"SELECT ti.id AS i, tj.id AS j, {', '.join(cols)} FROM {rows} r "
        f"{key_join(ti.table, 'ti', 'r', ti.keys)} {key_join(tj.table, 'tj', 'r', tj.keys)} "
        "GROUP BY ti.id, tj.id"
    )
    got = engine.run(sql)
    code_i = ti.codes[got.column("i").to_numpy()]
    code_j = tj.codes[got.column("j").to_numpy()]
    # lib.lmm.stats.pair_stats orders pairs by (level_i, level_j).
    order = np.lexsort((code_j, code_i))
    qi, qj = len(ti.z), len(tj.z)
    values = np.empty((qi, qj, order.size))
    for m in range(qi * qj):
        values[m // qj, m % qj] = got.column(f"s{m}").to_numpy().astype(float)[order]
    return PairStats(level_i=code_i[order], level_j=code_j[order], values=values)


def second_pass(model: SqlModel, beta: np.ndarray, modes: list, sigma: float) -> RowSummaries:
    """Residual quantiles and var(X beta) in the engine; beta and modes go in as tables."""
    engine = model.engine
    name = engine.prefix
    params = {f"b{j}": [float(v)] for j, v in enumerate(beta)}
    params["sigma"] = [float(sigma)]
    engine.register(name + "beta", pa.table(params))
    joins, parts = [], []
    for k, (term, b) in enumerate(zip(model.terms, modes, strict=True)):
        ids = np.arange(term.codes.size)
        table = {"id": pa.array(ids, pa.int64())}
        for a in range(b.shape[0]):
            table[f"b{a}"] = pa.array(b[a, term.codes], pa.float64())
        engine.register(f"{name}b{k}", pa.table(table))
        keys = ", ".join(f"t.k{i}" for i in range(len(term.keys)))
        bcols = ", ".join(f"m.b{a}" for a in range(b.shape[0]))
        engine.view(
            f"{name}m{k}",
            f"SELECT {keys}, {bcols} FROM {term.table} t JOIN {name}b{k} m ON t.id = m.id",
        )
        joins.append(key_join(f"{name}m{k}", f"m{k}", "r", term.keys))
        parts.append(" + ".join(_times(f"m{k}.b{a}", z) for a, z in enumerate(term.z)))
    eta = " + ".join(_times(f"P.b{j}", v) for j, v in enumerate(model.x))
    fitted = "eta" + "".join(f" + f{k}" for k in range(len(parts)))
    inner = (
        f"SELECT r.y AS y, P.sigma AS sigma, {eta} AS eta, "
        + ", ".join(f"{part} AS f{k}" for k, part in enumerate(parts))
        + f" FROM {model.rows} r CROSS JOIN {name}beta P {' '.join(joins)}"
    )
    residuals = f"(SELECT (y - ({fitted})) / sigma AS res, eta FROM ({inner}) a) b"
    eta_sql = "var_samp(eta) AS v, MIN(eta) AS lo, MAX(eta) AS hi"
    if model.nobs <= quantiles.EXACT_ROWS.get(engine.name, 0):
        sql = f"SELECT {engine.quantiles('res', QUANTILE_PROBS)} AS q, {eta_sql} FROM {residuals}"
        got = engine.run(sql).to_pylist()[0]
        resid_quantiles = np.asarray(got["q"], dtype=float)
    else:
        got, resid_quantiles = _bracketed_quantiles(engine, residuals, eta_sql)
    # A constant prediction has variance exactly 0 (lib.lmm.variance.variance_fixed).
    var_fixed = 0.0 if got["lo"] == got["hi"] else float(got["v"])
    return RowSummaries(scaled_resid_quantiles=resid_quantiles, variance_fixed=var_fixed)


def _bracketed_quantiles(engine, residuals: str, eta_sql: str) -> tuple[dict, np.ndarray]:  # noqa: ANN001
    """The residual quantiles without holding the residuals (``lib.aggregate.quantiles``):
    a pass counting by bin, then one fetching the needed bins' values (and var(X beta))."""
    binned = f"(SELECT res, eta, {quantiles.bin_sql('res')} AS bin FROM {residuals}) c"
    counted = engine.run(
        f"SELECT bin, COUNT(*) AS n, MIN(res) AS lo, MAX(res) AS hi FROM {binned} GROUP BY bin"
    )
    bins = quantiles.Bins(
        index=counted.column("bin").to_numpy().astype(np.int64),
        count=counted.column("n").to_numpy().astype(np.int64),
        low=counted.column("lo").to_numpy().astype(float),
        high=counted.column("hi").to_numpy().astype(float),
    )
    got: dict = {}
    table = engine.prefix + "bins"

    def fetch(ranges: list[tuple[float, float]]) -> list[np.ndarray]:
        # The bounds travel as a registered table, not as literals in the SQL.
        bounds = {f"{side}{k}": [r[i]] for k, r in enumerate(ranges) for i, side in enumerate("lh")}
        engine.register(table, pa.table(bounds or {"l0": [0.0]}))
        lists = [
            f"{engine.collect('res')} FILTER (WHERE res >= B.l{k} AND res <= B.h{k}) AS in{k}"
            for k in range(len(ranges))
        ]
        row = engine.run(
            f"SELECT {', '.join([eta_sql, *lists])} FROM {residuals} CROSS JOIN {table} B"
        ).to_pylist()[0]
        got.update(row)
        return [np.asarray(row[f"in{k}"] or [], dtype=float) for k in range(len(ranges))]

    def exact() -> np.ndarray:
        sql = f"SELECT {engine.quantiles('res', QUANTILE_PROBS)} AS q, {eta_sql} FROM {residuals}"
        row = engine.run(sql).to_pylist()[0]
        got.update(row)
        return np.asarray(row["q"], dtype=float)

    values = quantiles.quantiles_from_bins(bins, QUANTILE_PROBS, fetch, exact)
    return got, values


def _times(coef: str, variable: str) -> str:
    return coef if variable == ONE else f"{coef} * r.{variable}"
