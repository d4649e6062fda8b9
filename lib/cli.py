"""Command line: ``python -m lib fit DATA --spec MODEL.json`` prints JSON.

The one-factor flags (``--outcome Y --group G --fixed ... --random ...``) remain.

Meant for scripting and benchmarks. Bad input exits with status 2 and a
one-line message on stderr (no traceback). Column names are taken as plain
names; nothing given on the command line is evaluated.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lib.aggregate.cli import add_engine_arguments, fit_data
from lib.data import load_table
from lib.errors import ExplorerError, SpecError
from lib.lmm import LmmFit
from lib.spec import ModelSpec

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage; keep exit code 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fit a linear mixed model and print its summary as JSON")
    fit.add_argument(
        "data",
        help="CSV, Parquet or Excel (.xlsx) file, a glob of Parquet files, or (Spark) a table",
    )
    fit.add_argument(
        "--spec",
        help="MODEL.json: {outcome, fixed, random: [{group, intercept, slopes, correlated}], "
        "method}; replaces the one-factor flags below",
    )
    fit.add_argument("--outcome", help="numeric outcome column (one-factor form)")
    fit.add_argument("--group", help="grouping column (one-factor form)")
    fit.add_argument("--fixed", default="", help="comma-separated fixed predictors (may be empty)")
    fit.add_argument(
        "--random",
        default="intercept",
        help="comma-separated: 'intercept' and/or numeric columns with random slopes",
    )
    fit.add_argument("--uncorrelated", action="store_true", help="(1|g) + (0+x|g) form")
    fit.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    add_engine_arguments(fit)
    return parser


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def spec_from_args(args: argparse.Namespace) -> ModelSpec:
    """The spec from ``--spec MODEL.json``, or from the one-factor flags."""
    if args.spec:
        if args.outcome or args.group:
            raise SpecError("Give either --spec MODEL.json or --outcome/--group, not both.")
        return read_spec(args.spec)
    if not args.outcome or not args.group:
        raise SpecError("Give --spec MODEL.json, or both --outcome and --group.")
    random = _split(args.random)
    return ModelSpec.one_factor(
        outcome=args.outcome,
        group=args.group,
        fixed=_split(args.fixed),
        random_intercept="intercept" in random,
        random_slopes=tuple(r for r in random if r != "intercept"),
        correlated=not args.uncorrelated,
        reml=not args.ml,
    )


def read_spec(path: str) -> ModelSpec:
    """Read MODEL.json; its text is data, never evaluated."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"Model spec file {path!r} does not exist or is not a file.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"Model spec {path!r} is not valid JSON: {exc}.") from exc
    return ModelSpec.from_dict(data)


def read_data(path: str, spec: ModelSpec) -> pd.DataFrame:
    """Read CSV (fast pyarrow reader), Parquet or Excel; grouping columns categorical.

    Grouping columns are factorised once here (shared FACTS: turning string labels
    into codes was a quarter of a 10^6-row fit).
    """
    file = Path(path)
    if file.is_dir():
        raise ExplorerError(f"{path!r} is a directory; give the path of a data file.")
    if not file.is_file():
        raise ExplorerError(f"Data file {path!r} does not exist.")
    if file.suffix.lower() in (".xlsx", ".parquet"):
        frame = load_table(file.read_bytes(), file.name)
    else:
        try:
            frame = pd.read_csv(file, engine="pyarrow")
        except Exception:  # pyarrow is strict about some dialects; the app's reader sniffs
            frame = load_table(file.read_bytes(), file.name)
    for column in spec.group_columns:
        if column in frame.columns:
            frame[column] = frame[column].astype("category")
    return frame


def _num(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _by_name(values: np.ndarray, names: Sequence[str]) -> dict:
    return {t: _num(v) for t, v in zip(names, values, strict=True)}


def fit_to_json(fit: LmmFit) -> dict:
    """The documented JSON document for one fit (terms named as lme4 names them)."""
    names = fit.fixef_names
    terms = []
    for t in fit.varcorr.terms:
        corr = {}
        if t.correlated:
            c = t.correlation
            for i in range(len(t.names)):
                for j in range(i + 1, len(t.names)):
                    corr[f"{t.names[i]}:{t.names[j]}"] = _num(c[i, j])
        terms.append(
            {
                "group": t.group,
                "names": list(t.names),
                "variances": _by_name(t.variances, t.names),
                "sd": _by_name(t.sd, t.names),
                "corr": corr,
            }
        )
    return {
        "formula": fit.formula,
        "spec": fit.spec.to_dict(),
        "method": "REML" if fit.reml else "ML",
        "criterion": fit.criterion,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "nobs": fit.nobs,
        "ngroups": fit.ngroups,
        "n_dropped": fit.n_dropped,
        "theta": [float(t) for t in fit.theta],
        "sigma": fit.sigma,
        "fixef": _by_name(fit.beta, names),
        "fixef_se": _by_name(fit.beta_se, names),
        "fixef_t": _by_name(fit.beta_t, names),
        "fixef_df": _by_name(fit.beta_df, names),
        "fixef_p": _by_name(fit.beta_p, names),
        "fixef_corr": [[_num(v) for v in row] for row in fit.fixef_corr],
        "varcorr": {"terms": terms, "residual_variance": fit.varcorr.residual_variance},
        "ranef": {
            f.group: {
                lev: _by_name(row, f.names) for lev, row in zip(f.levels, f.modes, strict=True)
            }
            for f in fit.ranef
        },
        "ranef_condvar": {
            f.group: {
                lev: _by_name(np.diagonal(m), f.names)
                for lev, m in zip(f.levels, f.condvar, strict=True)
            }
            for f in fit.ranef
        },
        "scaled_resid_quantiles": [float(v) for v in fit.scaled_resid_quantiles],
        "singular": fit.singular,
        "converged": fit.optimizer.converged,
        "icc": None
        if fit.icc is None
        else {"adjusted": fit.icc.adjusted, "unadjusted": fit.icc.unadjusted},
        "r2": None
        if fit.r2 is None
        else {"marginal": _num(fit.r2.marginal), "conditional": _num(fit.r2.conditional)},
        "timing": {"fit_seconds": fit.fit_seconds},
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        spec = spec_from_args(args)
        fit = fit_data(args, spec, read_data)
    except ExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    json.dump(fit_to_json(fit), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
