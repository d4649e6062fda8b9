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

from lib.model.response import GAUSSIAN, ResponseFamily
from lib.model.spec import ModelSpec
from lib.present.family import glmer_formula, r_family, ratio_name


def r_string(text: str) -> str:
    """A double-quoted R string literal (R reads JSON's escapes ``\\" \\\\ \\n \\uXXXX``)."""
    return json.dumps(str(text), ensure_ascii=False)


def lme4_call(
    spec: ModelSpec,
    data_file: str | None = None,
    response: ResponseFamily = GAUSSIAN,
    nagq: int = 1,
) -> str:
    """An R script that fits ``spec`` with lme4 (and lmerTest for the p-values).

    Parameters
    ----------
    spec : ModelSpec
    data_file : str, optional
        File the data come from (``read.csv``); a placeholder name when None.
    response : ResponseFamily
        A binomial or Poisson family makes it a ``glmer`` script (``glmer_call``).
    nagq : int
        glmer's nAGQ (generalized families only).
    """
    if response.generalized:
        return glmer_call(spec, response, data_file, nagq)
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


def glmer_line(spec: ModelSpec, response: ResponseFamily, nagq: int = 1) -> str:
    """Just the call: ``glmer(cbind(s, n - s) ~ 1 + x + (1 | g), data = d, family = binomial)``.

    The formula is ``lib.present.family.glmer_formula`` (trials as ``cbind``, the offset
    column as ``offset()``); the family as R writes it (``binomial(link = "probit")``).
    """
    agq = f", nAGQ = {int(nagq)}" if nagq != 1 else ""
    return (
        f"glmer({glmer_formula(spec, response)}, data = d, family = {r_family(response)}{agq})"
    )


def glmer_call(
    spec: ModelSpec,
    response: ResponseFamily,
    data_file: str | None = None,
    nagq: int = 1,
) -> str:
    """An R script that fits ``spec`` with lme4's ``glmer`` and prints its summary.

    A named success level becomes an explicit 0/1 outcome (glmer would count every
    level but the first as success, which depends on R's sorting).
    """
    path = r_string(data_file or "your_data.csv")
    lines = ["library(lme4)", f"d <- read.csv({path})"]
    if response.success is not None:
        column = r_string(spec.outcome)
        lines.append(
            f"d[[{column}]] <- as.integer(as.character(d[[{column}]]) == "
            f"{r_string(response.success)})"
        )
    lines += [f"fit <- {glmer_line(spec, response, nagq)}", "summary(fit)"]
    return "\n".join(lines)


def python_script(
    spec: ModelSpec,
    bundled: str | None = None,
    data_file: str | None = None,
    duckdb: bool = False,
    response: ResponseFamily = GAUSSIAN,
    nagq: int = 1,
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
        instead of reading it into pandas: what the app does for large uploads. Not for
        a generalized family, whose fit needs the rows in memory.
    response : ResponseFamily
        A binomial or Poisson family fits with ``lib.glmer`` (its family arguments
        written as literals).
    nagq : int
        glmer's nAGQ (generalized families only).

    Returns
    -------
    str
        Source code; the formula and file names in it are Python string literals.
    """
    formula = f"formula = {spec.formula()!r}"
    reml = "True" if spec.reml else "False"
    if duckdb and bundled is None and not response.generalized:
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
    if response.generalized:
        imports = [line.replace("import lmer", "import glmer") for line in imports]
        return "\n".join([*imports, "", *load, formula, *_glmer_lines(response, nagq)]) + "\n"
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


def _glmer_lines(response: ResponseFamily, nagq: int) -> list[str]:
    """``m = glmer(formula, data, family=..., ...)`` with one argument per line (the
    script stays narrower than the app's code column), then what to print."""
    arguments = [f"family={response.family!r}"]
    for name in ("link", "trials", "offset", "success"):
        value = getattr(response, name)
        if value is not None:
            arguments.append(f"{name}={value!r}")
    if nagq != 1:
        arguments.append(f"nagq={int(nagq)}")
    lines = ["m = glmer(", "    formula,", "    data,", *(f"    {a}," for a in arguments), ")"]
    lines.append("print(m)  # summary(glmer(...)); m.fixef, m.ranef(), m.tidy() as lme4")
    ratio = ratio_name(response)
    if ratio is not None:
        lines.append(f"print(m.ratios())  # {ratio}s with Wald limits")
    return lines
