"""Command line: ``python -m lib fit DATA --formula 'y ~ x * f + (x | g)'`` prints JSON.

The model is given one of three ways: ``--formula`` (an lme4 formula, read by
``lib.model.formula`` and never evaluated), ``--spec MODEL.json``, or the
one-factor flags (``--outcome Y --group G --fixed ... --random ...``).
Only the columns the model uses are read.

Meant for scripting and benchmarks. Bad input exits with status 2 and a
one-line message on stderr (no traceback). Column names are taken as plain
names; nothing given on the command line is evaluated.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from lib.aggregate.cli import add_engine_arguments, choose_engine, fit_data
from lib.cli_glmm import (
    FAMILY_KEYS,
    add_family_arguments,
    as_categories,
    check_linear_outcome,
    family_from_args,
    glmm_document,
)
from lib.cli_json import add_intervals, ranef_json, varcorr_terms
from lib.cli_json import by_name as _by_name
from lib.cli_json import num as _num
from lib.errors import ExplorerError, SpecError
from lib.lmm import LmmFit, fit_design
from lib.lmm.bootstrap import bootstrap_intervals
from lib.lmm.intervals import check_level, profile_intervals, wald_intervals
from lib.lmm.predict import predict, prediction_basis
from lib.model.design import build_design
from lib.model.formula import parse_formula, spec_from_json
from lib.model.response_formula import read_lme4_response
from lib.model.spec import ModelSpec
from lib.table.columns import numbers_with_markers
from lib.table.read import MAX_BYTES, check_table, load_table

EXIT_BAD_INPUT = 2
#: The too-many-rows message of the CLI: the remedy is another engine, not this command.
CLI_BIG_HINT = "or use --engine duckdb, which streams the file instead of holding it"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage; keep exit code 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser(
        "fit", help="fit a linear or generalized mixed model and print its summary as JSON"
    )
    fit.add_argument(
        "data",
        help="CSV, Parquet or Excel (.xlsx) file, a glob of Parquet files, or (Spark) a table",
    )
    fit.add_argument(
        "--formula",
        help="an lme4 formula, e.g. 'y ~ x * treatment + (1 + x | school)'; replaces "
        "--spec and the one-factor flags (--ml for maximum likelihood)",
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
    fit.add_argument(
        "--confint",
        choices=("wald", "profile", "boot"),
        help="add confidence intervals for every parameter (lme4's confint(method=)); "
        "profile and boot need the pandas engine; generalized models: wald or profile",
    )
    fit.add_argument("--level", type=float, default=0.95, help="confidence level (0.95)")
    fit.add_argument("--nboot", type=int, default=500, help="bootstrap refits (--confint boot)")
    fit.add_argument(
        "--seed", type=int, default=None, help="seed of --confint boot and of --sample"
    )
    fit.add_argument(
        "--predictions",
        action="store_true",
        help="add predictions with and without random effects for every row (file order); "
        "generalized models: on the link and the response scale",
    )
    add_engine_arguments(fit)
    add_family_arguments(fit)
    return parser


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def spec_from_args(args: argparse.Namespace) -> ModelSpec:
    """The spec from ``--formula``, ``--spec MODEL.json`` or the one-factor flags (one of)."""
    one_factor = [f"--{k}" for k in ("outcome", "group") if getattr(args, k)]
    one_factor += [
        flag
        for flag, given in (
            ("--fixed", args.fixed),
            ("--random", args.random != "intercept"),
            ("--uncorrelated", args.uncorrelated),
        )
        if given
    ]
    ways = [("--formula", args.formula), ("--spec", args.spec), ("/".join(one_factor), one_factor)]
    given = [name for name, value in ways if value]
    if len(given) > 1:
        raise SpecError(
            f"Give the model one way: --formula, --spec MODEL.json, or --outcome/--group; "
            f"got {' and '.join(given)}."
        )
    if args.formula:
        # cbind(s, n - s) and offset(x) are the family's (family_keys), not the spec's.
        spec = parse_formula(read_lme4_response(args.formula)[0], reml=not args.ml)
    elif args.spec:
        spec = read_spec(args.spec)  # its "method" decides REML or ML (glmer: always ML)
    else:
        if not args.outcome or not args.group:
            raise SpecError(
                "Give the model: --formula 'y ~ x + (1 | g)', --spec MODEL.json, or both "
                "--outcome and --group."
            )
        random = _split(args.random)
        spec = ModelSpec.one_factor(
            outcome=args.outcome,
            group=args.group,
            fixed=_split(args.fixed),
            random_intercept="intercept" in random,
            random_slopes=tuple(r for r in random if r != "intercept"),
            correlated=not args.uncorrelated,
            reml=not args.ml,
        )
    return spec


def read_model_file(path: str) -> dict:
    """MODEL.json as a dict; its text is data, never evaluated."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"Model spec file {path!r} does not exist or is not a file.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"Model spec {path!r} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise SpecError(f"A model spec must be a JSON object, got {type(data).__name__}.")
    return data


def read_spec(path: str) -> ModelSpec:
    """The model of MODEL.json (its family keys are read by ``family_keys``)."""
    data = {k: v for k, v in read_model_file(path).items() if k not in FAMILY_KEYS}
    if isinstance(data.get("formula"), str):
        data["formula"] = read_lme4_response(data["formula"])[0]
    return spec_from_json(data)


def family_keys(args: argparse.Namespace) -> dict:
    """The family keys given besides the flags: MODEL.json's ``family``, ``link``,
    ``trials``, ``offset`` and ``success``, and the trials and offset a formula names as
    lme4 writes them (``cbind(s, n - s) ~``, ``+ offset(x)``)."""
    keys: dict = {}
    formula = args.formula
    if args.spec:
        data = read_model_file(args.spec)
        keys = {k: data[k] for k in FAMILY_KEYS if k in data}
        formula = data.get("formula") if isinstance(data.get("formula"), str) else None
    if formula:
        _, trials, offset = read_lme4_response(formula, keys.get("trials"), keys.get("offset"))
        keys |= {k: v for k, v in (("trials", trials), ("offset", offset)) if v is not None}
    return keys


def read_data(path: str, spec: ModelSpec, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Read CSV (fast pyarrow reader), Parquet or Excel; grouping columns categorical.

    Only the model's columns are kept, and ``extra`` ones (a GLMM's trials and offset).

    Grouping columns are factorised once here: turning string labels into codes
    was measured at a quarter of a 10^6-row fit.
    """
    file = Path(path)
    if file.is_dir():
        raise ExplorerError(f"{path!r} is a directory; give the path of a data file.")
    if not file.is_file():
        raise ExplorerError(f"Data file {path!r} does not exist.")
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise ExplorerError(f"Data file {path!r} cannot be read ({exc.strerror}).") from exc
    name = file.name
    if file.suffix.lower() == ".gz":  # data.csv.gz: read as data.csv
        content, name = _gunzip(content, path), file.stem
    used = tuple(dict.fromkeys(spec.columns + tuple(extra)))
    is_text = Path(name).suffix.lower() in (".csv", ".txt")
    frame = _fast_csv(content, used) if is_text else None
    if frame is None:
        # The app's reader: sniffs the separator and decimal mark, decodes Latin-1,
        # checks the header, sizes and file type, and explains what is wrong.
        frame = load_table(content, name, columns=used, big_hint=CLI_BIG_HINT)
    else:
        frame = check_table(frame, name, big_hint=CLI_BIG_HINT)
    return as_categories(frame, spec)


def read_linear(path: str, spec: ModelSpec) -> pd.DataFrame:
    """``read_data`` for a linear model, with the family hint of a binary outcome."""
    return check_linear_outcome(read_data(path, spec), spec)


def _gunzip(content: bytes, path: str) -> bytes:
    """The decompressed bytes, refusing more than the loaders' size limit."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
            data = stream.read(MAX_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise ExplorerError(f"{path!r} is not a readable gzip file ({exc}).") from exc
    if len(data) > MAX_BYTES:
        raise ExplorerError(
            f"{path!r} decompresses to more than {MAX_BYTES / 1e6:.0f} MB; use "
            "--engine duckdb for data this large."
        )
    return data


def _fast_csv(content: bytes, used: Sequence[str] = ()) -> pd.DataFrame | None:
    """pyarrow's CSV reader for a plain comma-separated UTF-8 file, else None.

    pyarrow is several times faster than pandas' parser at 10^6 rows, but it
    keeps invalid UTF-8 (Latin-1 files) as bytes and reads a semicolon- or
    tab-separated file as one column; those, and anything else it is unsure
    of, go to the app's reader instead.
    """
    head = content[:65536]
    if b"\x00" in head:  # binary: the app's reader says what it is
        return None
    first = head.split(b"\n", 1)[0]
    if b"," not in first or any(mark in first for mark in (b";", b"\t")):
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the sample's end
            return None
    header = next(csv.reader(io.StringIO(first.decode("utf-8", "replace").strip("\r"))), [])
    names = [h.strip().lstrip("\ufeff") for h in header]
    if not all(names) or len(set(names)) != len(names):
        return None  # blank or repeated names: the app's reader explains (or drops) them
    try:
        frame = pd.read_csv(io.BytesIO(content), engine="pyarrow")
    except Exception:  # pyarrow is strict about some dialects; the app's reader sniffs
        return None
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and values.map(type).eq(bytes).any():
            return None
    # pandas renames blank and repeated names ("Unnamed: 1", "y.1"); the app's reader
    # refuses them instead, so the header as written must be the columns as read.
    if names != [str(c) for c in frame.columns]:
        return None
    if used and set(used) <= set(names):  # only the model's columns go on
        frame = frame[[c for c in names if c in set(used)]]
    return numbers_with_markers(frame)[0]  # "." or "-" for a missing number, as the app


def fit_to_json(fit: LmmFit) -> dict:
    """The documented JSON document for one fit (terms named as lme4 names them).

    ``family`` and ``link`` are those of a linear model (``gaussian``, ``identity``), so
    that every document of the command names its family (``lib.cli_glmm`` writes the
    generalized ones).
    """
    names = fit.fixef_names
    ranef, ranef_condvar = ranef_json(fit.ranef)
    return {
        "formula": fit.formula,
        "spec": fit.spec.to_dict(),
        "family": "gaussian",
        "link": "identity",
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
        "varcorr": {
            "terms": varcorr_terms(fit.varcorr.terms),
            "residual_variance": fit.varcorr.residual_variance,
        },
        "ranef": ranef,
        "ranef_condvar": ranef_condvar,
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


PRETTY_MAX_GROUPS = 10_000


def fit_document(args: argparse.Namespace, spec: ModelSpec) -> dict:
    """The fit's JSON document, with ``confint`` and ``predictions`` when asked for.

    Profiles, the bootstrap and predictions need the rows in memory (the pandas
    engine); Wald intervals need only the fit.
    """
    if args.confint:
        check_level(args.level)
    rows_needed = args.predictions or args.confint in ("profile", "boot")
    if rows_needed and choose_engine(args) != "pandas":
        raise SpecError(
            "--predictions and --confint profile/boot need the rows in memory: use "
            "--engine pandas (or --confint wald)."
        )
    if not rows_needed:
        fit = fit_data(args, spec, read_linear)
        document = fit_to_json(fit)
        if args.confint == "wald":
            add_intervals(document, wald_intervals(fit, args.level))
        return document
    frame = read_linear(args.data, spec)
    design = build_design(frame, spec)
    fit = fit_design(design, spec)
    document = fit_to_json(fit)
    if args.confint == "wald":
        add_intervals(document, wald_intervals(fit, args.level))
    elif args.confint == "profile":
        add_intervals(document, profile_intervals(fit, design, args.level))
    elif args.confint == "boot":
        add_intervals(
            document,
            bootstrap_intervals(fit, design, args.level, nsim=args.nboot, seed=args.seed),
        )
    if args.predictions:
        basis = prediction_basis(frame, spec)
        document["predictions"] = {
            "conditional": [_num(v) for v in predict(fit, basis, frame, conditional=True)],
            "marginal": [_num(v) for v in predict(fit, basis, frame, conditional=False)],
        }
    return document


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        # Errors come first and alone: library warnings are collected, not printed
        # one per line, and summarised in one line after a successful fit.
        warnings.simplefilter("always")
        try:
            spec = spec_from_args(args)
            where = "MODEL.json" if args.spec else "the formula"
            response = family_from_args(args, family_keys(args), where)
            if response.generalized:
                document = glmm_document(args, spec, response, read_data)
            else:
                document = fit_document(args, spec)
        except ExplorerError as exc:
            print(f"error: {_one_line(str(exc))}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if caught:
        first = _one_line(str(caught[0].message))[:200]
        more = f" (and {len(caught) - 1} more)" if len(caught) > 1 else ""
        print(f"warning: {first}{more}", file=sys.stderr)
    # Indented for people when small; above PRETTY_MAX_GROUPS levels one line, because
    # json's indenting (and streaming) encoder is pure Python: 3.6 s for 10^5 groups'
    # random effects (twice the fit), against ~0.3 s for dumps' C encoder.
    indent = 2 if sum(document["ngroups"].values()) <= PRETTY_MAX_GROUPS else None
    try:
        sys.stdout.write(json.dumps(document, indent=indent, ensure_ascii=False))
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped early: not an error of ours. Point stdout
        # at /dev/null so that Python's exit-time flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())
