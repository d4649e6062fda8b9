"""Code that reproduces the current fit: the lme4 call and a Python script using ``lib``.

Both are built from the spec's values, never by pasting user text into code:
the R formula comes from ``ModelSpec.formula`` (non-syntactic names in
backticks, as R prints them) and file names become string literals with
``json.dumps`` (valid in R); the Python script writes every name through
``repr`` (``pprint.pformat`` of the spec's dict), so a column called
``x"); import os; ("`` stays one string literal of a script that parses.
"""

from __future__ import annotations

import json
import pprint

from lib.model.spec import ModelSpec


def r_string(text: str) -> str:
    """A double-quoted R string literal (R reads JSON's escapes ``\\" \\\\ \\n \\uXXXX``)."""
    return json.dumps(str(text), ensure_ascii=False)


def lme4_call(spec: ModelSpec, data_file: str | None = None) -> str:
    """An R script that fits ``spec`` with lme4 (and lmerTest for the p-values).

    Parameters
    ----------
    spec : ModelSpec
    data_file : str, optional
        File the data come from (``read.csv``); a placeholder name when None.
    """
    reml = "TRUE" if spec.reml else "FALSE"
    path = r_string(data_file or "your_data.csv")
    return "\n".join(
        [
            "library(lmerTest)  # loads lme4; adds Satterthwaite df and p-values",
            f"d <- read.csv({path})",
            f"fit <- lmer({spec.formula()}, data = d, REML = {reml})",
            "summary(fit)",
        ]
    )


def lmer_line(spec: ModelSpec) -> str:
    """Just the call, ``lmer(formula, data = d, REML = TRUE)``."""
    return f"lmer({spec.formula()}, data = d, REML = {'TRUE' if spec.reml else 'FALSE'})"


def python_script(
    spec: ModelSpec,
    bundled: str | None = None,
    data_file: str | None = None,
    duckdb: bool = False,
) -> str:
    """A Python script that reproduces the fit with this project's ``lib``.

    Parameters
    ----------
    spec : ModelSpec
    bundled : str, optional
        Key of a bundled data set (``lib.table.catalogue.load_bundled``).
    data_file : str, optional
        Otherwise the file the data were read from (``lib.table.read.load_table``); a
        placeholder name when None.
    duckdb : bool
        Fit in DuckDB from the file (``lib.aggregate.sqlfit.fit_engine``, no row limit)
        instead of reading it into pandas: what the app does for large uploads.

    Returns
    -------
    str
        Source code; every user-supplied name in it is a Python string literal.
    """
    literal = pprint.pformat(spec.to_dict(), width=84, sort_dicts=False)
    spec_literal = "\n" + "\n".join("    " + line for line in literal.splitlines()) + "\n"
    imports = ["from lib.lmm import fit_lmm", "from lib.model.spec import ModelSpec"]
    if bundled is not None:
        imports.insert(0, "from lib.table.catalogue import load_bundled")
        load = [f"data = load_bundled({bundled!r})"]
    else:
        imports[:0] = ["from pathlib import Path", "", "from lib.table.read import load_table"]
        load = [
            f"path = Path({(data_file or 'your_data.csv')!r})",
            "data = load_table(path.read_bytes(), path.name)",
        ]
    fit = "fit = fit_lmm(data, spec)"
    if duckdb and bundled is None:
        imports = [
            "from lib.aggregate.engines import DuckDBEngine",
            "from lib.aggregate.sqlfit import fit_engine",
            "from lib.model.spec import ModelSpec",
        ]
        load = [f"data = DuckDBEngine({(data_file or 'your_data.csv')!r})"]
        fit = "fit = fit_engine(data, spec)"
    lines = [
        *imports,
        "",
        *load,
        f"spec = ModelSpec.from_dict({spec_literal})",
        fit,
        "print(fit.formula)",
        "print(dict(zip(fit.fixef_names, fit.beta)))",
        'print("REML criterion" if fit.reml else "deviance", fit.criterion)',
    ]
    return "\n".join(lines) + "\n"
