"""Confidence intervals (``lib.lmm.intervals``) as columns of the summary tables.

lme4's ``confint()`` prints one matrix with columns named by the tail probabilities
("2.5 %", "97.5 %"); the app puts those two columns on the tables a reader already
looks at: the fixed effects (``summary.fixef_table``) and, when the variance
parameters have intervals (profile or bootstrap; Wald gives none, lme4's NA), the
random effects (``summary.varcorr_table``): the interval of each row's standard
deviation, and one row per correlation below its term. ``tidy_frame`` is broom.mixed's
``tidy(conf.int = TRUE)`` layout, for downloads and the report.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lib.lmm.intervals import IntervalRow, Intervals
from lib.lmm.result import LmmFit

METHOD_NAMES = {
    "wald": "Wald",
    "profile": "profile likelihood",
    "boot": "parametric bootstrap",
}
COMPACT_ESTIMATE = "SD / Corr"
TIDY_COLUMNS = ("effect", "group", "term", "estimate", "conf.low", "conf.high")


def labels(level: float) -> tuple[str, str]:
    """R's column names for a level: 0.95 -> ("2.5 %", "97.5 %")."""
    tail = 100.0 * (1.0 - level) / 2.0
    return f"{tail:.4g} %", f"{100.0 - tail:.4g} %"


def describe(result: Intervals) -> str:
    """One line saying what the interval columns are ("95% profile-likelihood ...")."""
    head = f"{100 * result.level:.4g}% {METHOD_NAMES[result.method]} intervals"
    if result.method == "wald":
        return f"{head} (estimate ± z × SE; fixed effects only, as lme4's Wald)"
    if result.method == "profile":
        return f"{head} (ML profiles, as lme4's confint(); {result.seconds:.2f} s)"
    done = f"{result.nsim:,} refits" + (", stopped early" if result.stopped else "")
    return f"{head} (percentiles of {done}; {result.seconds:.1f} s)"


def has_variance_intervals(result: Intervals) -> bool:
    return any(r.effect == "ran_pars" and np.isfinite(r.conf_low) for r in result.rows)


def fixef_with_ci(table: pd.DataFrame, result: Intervals) -> pd.DataFrame:
    """``summary.fixef_table`` with the interval's two columns appended."""
    low, high = labels(result.level)
    found = {r.term: r for r in result.rows if r.effect == "fixed"}
    out = table.copy()
    out[low] = [found[name].conf_low for name in table.index]
    out[high] = [found[name].conf_high for name in table.index]
    return out


def varcorr_with_ci(fit: LmmFit, table: pd.DataFrame, result: Intervals) -> pd.DataFrame:
    """``summary.varcorr_table`` with the interval of each standard deviation and one
    row per correlation (its estimate under ``Corr``, its interval beside it).

    The table's rows are the terms' effects in order, then the residual; the
    correlation rows come after their term's effects.
    """
    low, high = labels(result.level)
    pending = [r for r in result.rows if r.effect == "ran_pars"]

    def take(group: str, name: str) -> IntervalRow:
        # broom.mixed names the blocks of an uncorrelated term "g", "g.1", ... (lme4's
        # VarCorr): the first unused row of that parameter in one of them.
        block = re.compile(rf"{re.escape(group)}(\.\d+)?")
        for k, r in enumerate(pending):
            if r.term == name and block.fullmatch(str(r.group)):
                return pending.pop(k)
        raise KeyError(f"no interval for {name} of {group}")

    corr_column = "Corr" if "Corr" in table.columns else None
    rows: list[dict] = []
    position = 0
    for term in fit.varcorr.terms:
        for name in term.names:
            row = dict(table.iloc[position])
            position += 1
            r = take(term.group, f"sd__{name}")
            rows.append({**row, low: r.conf_low, high: r.conf_high})
        if not (term.correlated and len(term.names) > 1):
            continue
        for i in range(1, len(term.names)):
            for j in range(i):
                a, b = term.names[j], term.names[i]
                r = take(term.group, f"cor__{a}.{b}")
                extra = {c: np.nan for c in table.columns}
                # Below a pair's rows "Corr" is unambiguous; with more effects, name them.
                label = "Corr" if len(term.names) == 2 else f"Corr({a}, {b})"
                extra.update({"Groups": "", "Name": label})
                if corr_column is not None:
                    extra[corr_column] = r.estimate
                rows.append({**extra, low: r.conf_low, high: r.conf_high})
    residual = take("Residual", "sd__Observation")
    rows.append({**dict(table.iloc[position]), low: residual.conf_low, high: residual.conf_high})
    return pd.DataFrame(rows, columns=[*table.columns, low, high])


def compact_varcorr(with_ci: pd.DataFrame) -> pd.DataFrame:
    """``varcorr_with_ci`` in five columns that fit the page's 449 px column: Groups,
    Name, ``SD / Corr`` (the row's SD, or on a correlation row its correlation) and the
    interval (the full table stays the download)."""
    low, high = with_ci.columns[-2:]
    estimate = with_ci["Std.Dev."].copy()
    if "Corr" in with_ci.columns:
        is_corr = with_ci["Name"].astype(str).str.startswith("Corr") & estimate.isna()
        estimate[is_corr] = with_ci.loc[is_corr, "Corr"]
    return pd.DataFrame(
        {
            "Groups": with_ci["Groups"],
            "Name": with_ci["Name"],
            COMPACT_ESTIMATE: estimate,
            low: with_ci[low],
            high: with_ci[high],
        }
    )


def tidy_frame(result: Intervals) -> pd.DataFrame:
    """broom.mixed's ``tidy(m, conf.int = TRUE)`` columns, one row per parameter."""
    frame = pd.DataFrame(
        [(r.effect, r.group, r.term, r.estimate, r.conf_low, r.conf_high) for r in result.rows],
        columns=list(TIDY_COLUMNS),
    )
    for column in TIDY_COLUMNS[3:]:
        frame[column] = frame[column].astype(float)
    return frame
