"""Code that reproduces the current fit: the lme4 call and a Python script using ``lib``.

Both are built from the spec's values, never by pasting user text into code:
the formula comes from ``ModelSpec.formula`` (non-syntactic names in backticks,
as R prints them; lme4 and ``lib.model.formula`` read it back to the same
model), file names become string literals with ``json.dumps`` (valid in R), and
the Python script writes the formula and file names through ``repr``, so a
column called ``x"); import os; ("`` stays inside one string literal of a
script that parses.
"""

from __future__ import annotations

import json

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

    The model is the spec's lme4 formula (``ModelSpec.formula``), fitted by
    ``lib.lmer(formula, data)``, which reads the formula with the project's own
    parser, as the app does.

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
        Source code; the formula and file names in it are Python string literals.
    """
    formula = f"formula = {spec.formula()!r}"
    reml = "True" if spec.reml else "False"
    if duckdb and bundled is None:
        lines = [
            "from lib.aggregate.engines import DuckDBEngine",
            "from lib.aggregate.sqlfit import fit_engine",
            "from lib.model.formula import parse_formula",
            "",
            f"data = DuckDBEngine({(data_file or 'your_data.csv')!r})",
            formula,
            f"fit = fit_engine(data, parse_formula(formula, reml={reml}))",
            "print(fit.formula)",
            "print(dict(zip(fit.fixef_names, fit.beta)))",
            'print("REML criterion" if fit.reml else "deviance", fit.criterion)',
        ]
        return "\n".join(lines) + "\n"
    if bundled is not None:
        imports = ["from lib import lmer", "from lib.table.catalogue import load_bundled"]
        load = [f"data = load_bundled({bundled!r})"]
    else:
        imports = ["from pathlib import Path", "", "from lib import lmer"]
        imports.append("from lib.table.read import load_table")
        load = [
            f"path = Path({(data_file or 'your_data.csv')!r})",
            "data = load_table(path.read_bytes(), path.name)",
        ]
    lines = [
        *imports,
        "",
        *load,
        formula,
        f"m = lmer(formula, data, reml={reml})",
        "print(m)  # lmerTest's summary(); m.fixef, m.ranef(), m.tidy() as lme4/broom.mixed",
        'print("REML criterion" if m.fit.reml else "deviance", m.fit.criterion)',
    ]
    return "\n".join(lines) + "\n"
