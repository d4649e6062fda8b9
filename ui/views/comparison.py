"""The one comparison panel: Compare, Ladder and Lesson show a model comparison alike.

Everything shown comes from one ``lib.classroom.comparison.Comparison``: the criteria of
the ML fits, the likelihood-ratio tests between nested models, and the sentences of
``lib.classroom.comparison_text``. So the pages cannot disagree on the numbers of a pair.

Two tables that fit the main column at 1024 px (``ui.layout``):

* **Criteria**: one row per model, numbered in the page's order (the tutorial's steps),
  with npar, AIC (ML) and BIC (ML);
* **Tests**: one row per pair, ``4 vs 2``, with χ², Df and the p-value. Besides the valid
  tests it lists the pairs R's ``anova()`` would test in its order but that test
  nothing (not nested, or as many parameters): their p-value cell says so instead of
  showing a number.

The CSV download holds ``comparison_table``: every column, unrounded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from lib.classroom import comparison as cmp
from lib.classroom.comparison_text import sentences
from lib.classroom.ladder import FULL
from lib.present.markdown import md
from lib.present.numbers import pval
from ui import render

# Shorter row labels where the full name would not fit a table's label column at 1024 px.
SHORT_NAMES = {FULL: "Intercept + slope"}
NOT_NESTED_MARK = "not nested"
SAME_NPAR_MARK = "same npar"
CRITERIA = ("npar", cmp.AIC_ML, cmp.BIC_ML)


def short_name(label: str) -> str:
    return SHORT_NAMES.get(label, label)


def quote(name: str) -> str:
    """A model's name in a sentence: escaped, in bold."""
    return f"**{md(name)}**"


def numbers(result: cmp.Comparison, order: Sequence[str] | None = None) -> dict[str, int]:
    """Each model's number on the page: its position in ``order`` (default: as compared)."""
    labels = list(order) if order is not None else [m.label for m in result.models]
    return {label: k + 1 for k, label in enumerate(labels)}


def row_label(label: str, number: int) -> str:
    return f"{number} {short_name(label)}"


def formulas(named: Sequence[tuple[str, str]], numbered: Sequence[str] = ()) -> str:
    """The models as R code, each formula under its name as a comment; the names in
    ``numbered`` carry their number in the tables (``# 2 Random intercept``)."""
    number = {label: k + 1 for k, label in enumerate(numbered)}
    return "\n".join(
        f"# {number[name]} {name}\n{formula}" if name in number else f"# {name}\n{formula}"
        for name, formula in named
    )


def criteria_frame(result: cmp.Comparison, order: Sequence[str] | None = None) -> pd.DataFrame:
    """npar, AIC (ML) and BIC (ML) per model, rows in ``order``, labelled ``2 Random
    intercept``."""
    number = numbers(result, order)
    table = cmp.comparison_table(result)
    labels = sorted(table.index, key=lambda label: number[label])
    shown = table.loc[labels, list(CRITERIA)]
    shown.index = pd.Index([row_label(label, number[label]) for label in labels], name="model")
    return shown


def tests_frame(result: cmp.Comparison, order: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per pair, ``4 vs 2``: every model's test and, marked in the p-value column,
    the pairs R's ``anova()`` would test in its order that are not tests."""
    number = numbers(result, order)
    models = result.models
    rows, labels = [], []
    for k, model in enumerate(models):
        pairs = []
        if k > 0:  # R's anova(): each model against the one before it (by npar)
            pairs.append(result.pair(models[k - 1].label, model.label))
        if model.against is not None and model.against != k - 1:
            pairs.append(result.pair(models[model.against].label, model.label))
        for pair in sorted(pairs, key=lambda p: number[models[p.smaller].label]):
            big, small = models[pair.larger].label, models[pair.smaller].label
            labels.append(f"{number[big]} vs {number[small]}")
            if pair.nested:
                p: object = pair.p
            else:
                p = SAME_NPAR_MARK if pair.reason == cmp.SAME_NPAR else NOT_NESTED_MARK
            rows.append(
                {
                    cmp.CHISQ: pair.chisq,
                    cmp.DF: pair.df,
                    cmp.P: p,
                    cmp.P_BOUNDARY: pair.p_boundary,
                }
            )
    frame = pd.DataFrame(rows, index=pd.Index(labels, name="test"))
    if not np.isfinite(frame[cmp.P_BOUNDARY].to_numpy(float)).any():
        return frame.drop(columns=cmp.P_BOUNDARY)
    # A p-value, written as the p-values are (its name is not one of numbers.P_COLUMNS).
    frame[cmp.P_BOUNDARY] = [pval(p) for p in frame[cmp.P_BOUNDARY]]
    return frame


def draw(
    result: cmp.Comparison,
    name: str,
    order: Sequence[str] | None = None,
    criteria: pd.DataFrame | None = None,
    download: pd.DataFrame | None = None,
    explain: bool = True,
) -> None:
    """The criteria and tests tables, then (``explain``) the sentences.

    ``criteria``: the page's own criteria table (the Ladder adds its OLS rows), with
    ``download`` its CSV; by default ``criteria_frame`` and ``comparison_table``.
    """
    table = criteria_frame(result, order) if criteria is None else criteria
    render.table(
        table,
        f"{name}_criteria",
        decimals={"npar": 0, cmp.AIC_ML: 1, cmp.BIC_ML: 1},
        caption=scale_caption(result),
        download=cmp.comparison_table(result) if download is None else download,
    )
    st.markdown("**Likelihood-ratio tests** (ML fits), larger model first:")
    tests = tests_frame(result, order)
    render.table(
        tests,
        f"{name}_tests",
        decimals={cmp.CHISQ: 2, cmp.DF: 0},
        caption=tests_caption(tests),
        download=cmp.comparison_table(result),
    )
    if explain:
        for sentence in sentences(result, quote):
            st.markdown(f"- {sentence}")


def scale_caption(result: cmp.Comparison) -> str:
    text = "AIC and BIC of the maximum-likelihood fits: lower is better."
    if result.refitted:
        text += " The REML fits were refitted with ML, as lme4's anova() does."
    return text + " The CSV holds every column, unrounded."


def tests_caption(tests: pd.DataFrame) -> str:
    text = (
        f"'{NOT_NESTED_MARK}', '{SAME_NPAR_MARK}': R's anova() tests this pair because of its "
        "order, but neither model is a special case of the other, so there is no valid test "
        "and no p-value."
    )
    if cmp.P_BOUNDARY in tests.columns:
        text += (
            f" {cmp.P_BOUNDARY}: the p-value against the 50:50 mixture of χ² distributions, "
            "for a test that adds one variance (its usual p-value is too large)."
        )
    return text
