"""``python -m lib fit --family binomial|poisson``: generalized mixed models on the command line.

The family comes from ``--family/--link/--trials/--offset/--success`` or from the
same keys of MODEL.json (``"family"``, ``"link"``, ``"trials"``, ``"offset"``,
``"success"``); one ``ResponseFamily`` value carries it to ``lib.glmm.fit_glmm``.
The JSON document has the linear model's keys where they mean the same thing
(``criterion`` is the deviance, -2 logLik; ``fixef_p`` the Wald z p-value) and adds
``family``, ``link``, ``nagq``, ``fixef_z``, ``fixef_exp`` and ``df_resid``.

A GLMM needs the rows in memory: PIRLS recomputes each row's mean on every
iteration, which per-group sums (the DuckDB and Spark engines) cannot give. With
those engines the command stops with that message unless ``--sample N`` asks for a
random sample of N rows (drawn by the engine, reproducible with ``--seed``), which
is then fitted in memory and stated in the document's ``sample`` block.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lib.aggregate.cli import choose_engine
from lib.cli_json import add_intervals, by_name, intervals_rows, num, ranef_json, varcorr_terms
from lib.errors import ExplorerError, SpecError
from lib.lmm.intervals import check_level
from lib.model.response import LINKS, ResponseFamily
from lib.model.spec import ModelSpec
from lib.present.family import glmer_formula, ratio_name
from lib.table.columns import is_numeric_column

if TYPE_CHECKING:  # lib.glmm is imported when a generalized model is fitted: it loads
    # scipy.stats, 0.3 s that a linear fit from the command line does not need.
    from lib.glmm import GlmmFit

FAMILY_KEYS = ("family", "link", "trials", "offset", "success")
LABELS = {
    "link": "a link",
    "trials": "a trials column",
    "offset": "an offset column",
    "success": "a success level",
}
#: glmer allows nAGQ up to 25 (adaptive Gauss-Hermite, one scalar random effect).
MAX_NAGQ = 25
#: The sample a user asks for is fitted in memory: keep it to what pandas holds easily.
MAX_SAMPLE = 5_000_000


def add_family_arguments(parser: argparse.ArgumentParser) -> None:
    """The generalized-model options of ``python -m lib fit``."""
    parser.add_argument(
        "--family",
        choices=tuple(LINKS),
        help="outcome family: gaussian (lmer, the default), binomial or poisson (glmer)",
    )
    parser.add_argument(
        "--link",
        choices=sorted({link for links in LINKS.values() for link in links}),
        help="link function (default: logit for binomial, log for poisson)",
    )
    parser.add_argument(
        "--trials",
        metavar="COLUMN",
        help="binomial: column of trials; the outcome counts successes (lme4's cbind(s, n - s))",
    )
    parser.add_argument(
        "--offset",
        metavar="COLUMN",
        help="column added to the linear predictor as it is (e.g. log exposure)",
    )
    parser.add_argument(
        "--success",
        metavar="LEVEL",
        help="binomial with a two-valued text/boolean outcome: the value counted as 1",
    )
    parser.add_argument(
        "--nagq",
        type=int,
        default=1,
        help="glmer's nAGQ: 1 Laplace (default), 0 the fast first stage, up to 25 adaptive "
        "Gauss-Hermite points (one scalar random effect)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="fit a random sample of N rows (generalized models with --engine duckdb/spark "
        "or a large file; reproducible with --seed)",
    )


def family_from_args(
    args: argparse.Namespace, from_file: Mapping[str, object], where: str = "MODEL.json"
) -> ResponseFamily:
    """The ``ResponseFamily`` of the flags and the family keys given elsewhere
    (``where``: MODEL.json, or the formula's ``cbind()`` and ``offset()``).

    A key given both ways must agree; a flag alone or a key alone is taken.
    """
    values: dict[str, object] = {}
    for key in FAMILY_KEYS:
        flag, stored = getattr(args, key), from_file.get(key)
        if stored is not None and not isinstance(stored, str):
            raise SpecError(f"{where}'s {key!r} must be a string, got {stored!r}.")
        if flag is not None and stored is not None and flag != stored:
            raise SpecError(
                f"--{key} {flag!r} and {where}'s {key} {stored!r} disagree; give it once."
            )
        values[key] = flag if flag is not None else stored
    family = values.pop("family") or "gaussian"
    if family == "gaussian" and any(v is not None for v in values.values()):
        given = " and ".join(LABELS[k] for k, v in values.items() if v is not None)
        raise SpecError(
            f"{_sentence(given)} needs a generalized family: add --family binomial or "
            "--family poisson."
        )
    response = ResponseFamily(family=str(family), **values)  # type: ignore[arg-type]
    if not response.generalized and args.nagq != 1:
        raise SpecError("--nagq is for generalized models (--family binomial or poisson).")
    if not 0 <= args.nagq <= MAX_NAGQ:
        raise SpecError(f"--nagq must be between 0 and {MAX_NAGQ}, got {args.nagq}.")
    if args.sample is not None:
        if not response.generalized:
            raise SpecError(
                "--sample is for generalized models: a linear model is fitted on every row "
                "(--engine duckdb streams files of any size)."
            )
        if not 1 <= args.sample <= MAX_SAMPLE:
            raise SpecError(f"--sample must be between 1 and {MAX_SAMPLE:,}, got {args.sample}.")
    return response


class FamilyHint(UserWarning):
    """A linear model was asked for an outcome that looks binary."""


def check_linear_outcome(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Before a linear fit: a two-valued text or boolean outcome is refused with the
    family to use; a numeric outcome of only 0 and 1 is fitted, with a warning that
    names ``--family binomial`` (a linear probability model is rarely what was meant)."""
    if spec.outcome not in frame.columns:
        return frame
    column = frame[spec.outcome]
    values = pd.unique(column.dropna())
    if len(values) == 2 and not is_numeric_column(column):
        shown = ", ".join(sorted(str(v) for v in values))
        raise SpecError(
            f"The outcome {spec.outcome!r} has two values ({shown}): a linear model needs a "
            "measurement. Fit a logistic mixed model with --family binomial (--success "
            "names the value counted as 1)."
        )
    if is_numeric_column(column) and len(values) == 2 and set(map(float, values)) == {0.0, 1.0}:
        warnings.warn(
            f"The outcome {spec.outcome!r} holds only 0 and 1; a linear model treats it as a "
            "measurement. --family binomial fits a logistic mixed model.",
            FamilyHint,
            stacklevel=2,
        )
    return frame


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def in_memory_message(engine: str) -> str:
    """Why ``--engine duckdb/spark`` cannot fit a GLMM, and what to do instead."""
    return (
        f"A generalized (binomial/Poisson) model needs the rows in memory: its fit "
        f"recomputes every row's mean at each step, which the {engine} engine's per-group "
        "sums cannot give. Use --engine pandas for data that fit in memory, or fit a "
        "stated random sample with --sample N --seed S."
    )


def sample_rows(
    args: argparse.Namespace, engine: str, columns: Sequence[str]
) -> tuple[pd.DataFrame, int]:
    """``args.sample`` random rows of the model's columns, drawn by DuckDB (on one
    thread: several would interleave the scan and change the sample) or Spark, and the
    number of rows they were drawn from (``sample_from_engine``)."""
    from lib.aggregate.engines import DuckDBEngine, SparkEngine, spark_session

    if engine == "duckdb":
        backend = DuckDBEngine(args.data, memory_limit=args.duckdb_memory_limit, threads=1)
    else:
        from lib.aggregate.cli import spark_conf

        session = spark_session(args.spark_master, spark_conf(args.spark_conf))
        backend = SparkEngine(session, args.data)
    try:
        seed = 0 if args.seed is None else int(args.seed)
        return sample_from_engine(backend, columns, int(args.sample), seed)
    finally:
        backend.close()


def sample_from_engine(
    backend,
    columns: Sequence[str],
    n: int,
    seed: int,  # noqa: ANN001 - DuckDB/SparkEngine
) -> tuple[pd.DataFrame, int]:
    """``n`` random rows of ``columns`` and the row count of the source.

    DuckDB: reservoir sampling with ``REPEATABLE (seed)``. Spark: ``ORDER BY
    rand(seed) LIMIT n`` (Spark's ``TABLESAMPLE (n ROWS)`` takes the first rows, not a
    random sample).
    """
    missing = [c for c in columns if c not in backend.schema()]
    if missing:
        raise SpecError(f"Column(s) {missing} are not in the data.")
    select = ", ".join(backend.quote(c) for c in columns)
    total = int(backend.run(f"SELECT count(*) AS n FROM {backend.source}").column(0)[0].as_py())
    if backend.name == "duckdb":
        sql = (
            f"SELECT {select} FROM {backend.source} "
            f"USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE ({int(seed)})"
        )
    else:
        sql = f"SELECT {select} FROM {backend.source} ORDER BY rand({int(seed)}) LIMIT {int(n)}"
    return backend.run(sql).to_pandas(), total


def sample_in_memory(frame: pd.DataFrame, n: int, seed: int | None) -> pd.DataFrame:
    """``n`` rows drawn without replacement (numpy's PCG64 with ``seed``), in file order."""
    if n >= len(frame):
        return frame
    rng = np.random.default_rng(0 if seed is None else seed)
    keep = np.sort(rng.choice(len(frame), size=n, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def as_categories(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Grouping columns categorical (``lib.cli.read_data`` and the GLMM sample). A
    grouping column that is also a numeric fixed predictor (y ~ year + (1 | year))
    stays numeric: interaction_codes reads numbers as levels too."""
    numeric_predictors = set(spec.fixed_columns) | set(spec.slope_columns)
    for column in spec.group_columns:
        if column in frame.columns and not (
            column in numeric_predictors and is_numeric_column(frame[column])
        ):
            frame[column] = frame[column].astype("category")
    return frame


def glmm_frame(
    args: argparse.Namespace,
    spec: ModelSpec,
    response: ResponseFamily,
    engine: str,
    read_frame: Callable[..., pd.DataFrame],
) -> tuple[pd.DataFrame, dict | None]:
    """The rows to fit (all, or the ``--sample``) and the document's ``sample`` block."""
    columns = tuple(dict.fromkeys(spec.columns + response.columns))
    if engine != "pandas":
        if args.sample is None:
            raise SpecError(in_memory_message(engine))
        frame, total = sample_rows(args, engine, columns)
        frame = as_categories(frame, spec)
        method = "DuckDB reservoir sample" if engine == "duckdb" else "Spark ORDER BY rand(seed)"
    else:
        frame = read_frame(args.data, spec, response.columns)
        total = len(frame)
        if args.sample is not None:
            frame = sample_in_memory(frame, args.sample, args.seed)
        method = "numpy default_rng(seed).choice"
    if args.sample is None:
        return frame, None
    block = {
        "rows": len(frame),
        "of_rows": total,
        "seed": 0 if args.seed is None else int(args.seed),
        "method": method,
    }
    return frame, block


def spec_document(spec: ModelSpec, response: ResponseFamily) -> dict:
    """MODEL.json of the fit: the spec's keys and the family's (``--spec`` reads it back)."""
    family = {k: getattr(response, k) for k in FAMILY_KEYS if getattr(response, k) is not None}
    return spec.to_dict() | {"method": "ML"} | family


def glmm_to_json(fit: GlmmFit, spec: ModelSpec, response: ResponseFamily) -> dict:
    """The JSON document of a GLMM fit, in the linear document's shape where it can be.

    ``criterion`` is the deviance (-2 logLik, summary's "deviance"); ``fixef_p`` the Wald
    z p-value; ``sigma`` and the residual variance are null (binomial and Poisson have
    no residual scale; lme4's ``sigma()`` reports 1); ``fixef_exp`` is exp(beta), the
    odds ratios (logit) or rate ratios (log), named in ``ratio``.
    """
    names = fit.fixef_names
    sd = np.sqrt(np.diag(fit.vcov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = fit.vcov / np.outer(sd, sd)
    ratio = ratio_name(response)
    ranef, ranef_condvar = ranef_json(fit.ranef)
    return {
        "formula": glmer_formula(spec, response),
        "spec": spec_document(spec, response),
        "family": response.family,
        "link": response.link_name,
        "trials": response.trials,
        "offset": response.offset,
        "success": response.success,
        "method": "Laplace" if fit.nagq == 1 else f"nAGQ = {fit.nagq}",
        "nagq": fit.nagq,
        "criterion": fit.deviance,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "deviance_conditional": fit.deviance_conditional,
        "df_resid": fit.df_resid,
        "nobs": fit.nobs,
        "ngroups": {f.group: len(f.levels) for f in fit.ranef},
        "n_dropped": fit.n_dropped,
        "theta": [float(t) for t in fit.theta],
        "sigma": None,
        "fixef": by_name(fit.beta, names),
        "fixef_se": by_name(fit.se, names),
        "fixef_z": by_name(fit.z, names),
        "fixef_df": {t: None for t in names},
        "fixef_p": by_name(fit.p_value, names),
        "fixef_exp": by_name(np.exp(fit.beta), names) if ratio else None,
        "ratio": ratio,
        "fixef_corr": [[num(v) for v in row] for row in corr],
        "varcorr": {"terms": varcorr_terms(fit.varcorr), "residual_variance": None},
        "ranef": ranef,
        "ranef_condvar": ranef_condvar,
        "scaled_resid_quantiles": [float(v) for v in fit.scaled_resid_quantiles],
        "singular": fit.singular,
        "converged": None if fit.convergence is None else fit.convergence.converged,
        "convergence_messages": [] if fit.convergence is None else list(fit.convergence.messages),
        "outcome_levels": None
        if fit.outcome_levels is None
        else {"failure": fit.outcome_levels.failure, "success": fit.outcome_levels.success},
        "icc": None,
        "r2": None,
        "evaluations": list(fit.evaluations),
        "timing": {"fit_seconds": fit.fit_seconds},
    }


def glmm_document(
    args: argparse.Namespace,
    spec: ModelSpec,
    response: ResponseFamily,
    read_frame: Callable[..., pd.DataFrame],
) -> dict:
    """The JSON document of a generalized fit (``--family binomial|poisson``), with
    ``confint`` (Wald or profile, as ``lib.glmm.intervals``) and ``predictions``
    (``lib.glmm.predict``) when asked for."""
    from lib.glmm import fit_glmm
    from lib.glmm.intervals import confint, ratio_intervals
    from lib.glmm.predict import predict, prediction_basis

    if args.confint:
        check_level(args.level)
    if args.confint == "boot":
        raise SpecError(
            "--confint boot is not available for generalized models; use wald or profile."
        )
    engine = choose_engine(args)
    frame, sample = glmm_frame(args, spec, response, engine, read_frame)
    fit = fit_glmm(frame, spec, response, args.nagq)
    document = glmm_to_json(fit, spec, response)
    add_variances(document, fit, frame, spec, response)
    if sample is not None:
        document["sample"] = sample
    if args.confint:
        result = confint(fit, args.confint, frame, spec, response, args.level)
        add_intervals(document, result)
        if ratio_name(response) is not None:
            document["confint_exp"] = intervals_rows(ratio_intervals(result))
    if args.predictions:
        basis = prediction_basis(frame, spec, response)
        document["predictions"] = {
            f"{kind}{suffix}": [
                num(v) for v in predict(fit, basis, frame, kind == "conditional", scale)
            ]
            for scale, suffix in (("link", ""), ("response", "_response"))
            for kind in ("conditional", "marginal")
        }
    return document


def add_variances(
    document: dict,
    fit: GlmmFit,
    frame: pd.DataFrame,
    spec: ModelSpec,
    response: ResponseFamily,
) -> None:
    """``icc``, ``r2`` (latent scale, as performance) and the dispersion check."""
    from lib.glmm.dispersion import dispersion_check
    from lib.glmm.variance import latent_variances

    start = time.perf_counter()
    try:
        v = latent_variances(fit, frame, spec, response)
    except ExplorerError as exc:  # e.g. the Poisson null model cannot be fitted
        document["variance_messages"] = [str(exc)]
    else:
        document["icc"] = {"adjusted": num(v.icc_adjusted), "unadjusted": num(v.icc_unadjusted)}
        document["r2"] = {"marginal": num(v.r2_marginal), "conditional": num(v.r2_conditional)}
        document["variance_messages"] = list(v.messages)
    trials = None if response.trials is None else frame[response.trials].to_numpy(float)
    if response.family == "poisson" or (trials is not None and np.any(trials > 1)):
        check = dispersion_check(fit, trials)
        document["dispersion"] = {
            "chisq": check.chisq,
            "ratio": check.ratio,
            "df_resid": check.df_resid,
            "p": check.p_value,
            "overdispersed": check.overdispersed,
        }
    document["timing"]["variance_seconds"] = time.perf_counter() - start
