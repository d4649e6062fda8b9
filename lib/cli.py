"""Command line: ``python -m lib fit DATA.csv --outcome Y --group G ...`` prints JSON.

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

from lib.errors import ExplorerError
from lib.lmm import LmmFit, fit_lmm
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
    fit.add_argument("data", help="CSV file")
    fit.add_argument("--outcome", required=True, help="numeric outcome column")
    fit.add_argument("--group", required=True, help="grouping column")
    fit.add_argument("--fixed", default="", help="comma-separated fixed predictors (may be empty)")
    fit.add_argument(
        "--random",
        default="intercept",
        help="comma-separated: 'intercept' and/or numeric columns with random slopes",
    )
    fit.add_argument("--uncorrelated", action="store_true", help="(1|g) + (0+x|g) form")
    fit.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    return parser


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def spec_from_args(args: argparse.Namespace) -> ModelSpec:
    random = _split(args.random)
    return ModelSpec(
        outcome=args.outcome,
        group=args.group,
        fixed=_split(args.fixed),
        random_intercept="intercept" in random,
        random_slopes=tuple(r for r in random if r != "intercept"),
        correlated=not args.uncorrelated,
        reml=not args.ml,
    )


def read_csv(path: str, group: str) -> pd.DataFrame:
    """Read a CSV, keeping the group column categorical (factorised once, per FACTS)."""
    file = Path(path)
    if not file.is_file():
        raise ExplorerError(f"Data file {path!r} does not exist.")
    try:
        frame = pd.read_csv(file, engine="pyarrow")
    except Exception:  # pyarrow is strict about some dialects; fall back to the C parser
        try:
            frame = pd.read_csv(file)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ExplorerError(f"Could not read {path!r} as CSV: {exc}") from exc
    if group in frame.columns:
        frame[group] = frame[group].astype("category")
    return frame


def _num(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def fit_to_json(fit: LmmFit) -> dict:
    """The documented JSON document for one fit (terms named as lme4 names them)."""
    names, rnames = fit.fixef_names, fit.varcorr.names

    def by_term(values: np.ndarray, terms: Sequence[str]) -> dict:
        return {t: _num(v) for t, v in zip(terms, values, strict=True)}

    corr = {}
    if fit.varcorr.correlated:
        c = fit.varcorr.correlation
        for i in range(len(rnames)):
            for j in range(i + 1, len(rnames)):
                corr[f"{rnames[i]}:{rnames[j]}"] = _num(c[i, j])
    return {
        "formula": fit.formula,
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
        "fixef": by_term(fit.beta, names),
        "fixef_se": by_term(fit.beta_se, names),
        "fixef_t": by_term(fit.beta_t, names),
        "fixef_df": by_term(fit.beta_df, names),
        "fixef_p": by_term(fit.beta_p, names),
        "fixef_corr": [[_num(v) for v in row] for row in fit.fixef_corr],
        "varcorr": {
            "variances": by_term(fit.varcorr.variances, rnames),
            "sd": by_term(fit.varcorr.sd, rnames),
            "corr": corr,
            "residual_variance": fit.varcorr.residual_variance,
        },
        "ranef": {
            lev: by_term(row, rnames) for lev, row in zip(fit.group_levels, fit.ranef, strict=True)
        },
        "ranef_condvar": {
            lev: [[_num(v) for v in r] for r in m]
            for lev, m in zip(fit.group_levels, fit.ranef_condvar, strict=True)
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
        frame = read_csv(args.data, args.group)
        fit = fit_lmm(frame, spec)
    except ExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    json.dump(fit_to_json(fit), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
