"""A GlmmFit as text in the layout of lme4's ``print(summary(glmer(...)))``.

Numbers come from ``lib.present.glmm_summary``; this module only formats them, with
R's rules where they decide what a reader sees (checked against R's own printout in
``tests/reference/glmm_print.json``):

* the title is ``strwrap``ped to 80 columns with a 2-space indent, the formula is
  broken as R's ``deparse`` breaks it (after an operator or a comma once a line passes
  60 characters, continuation indented by 4);
* ``AIC BIC logLik deviance df.resid`` and the scaled residuals print as R prints a
  named vector: every column as wide as the widest name or value;
* lme4's ``.prt.warn`` lines (optimizer, checkConv messages such as a singular fit's)
  close the printout when there are messages;
* the coefficient table is ``printCoefmat``'s with ``digits = 4``: estimates and SEs
  rounded to ``digits - (1 + floor(log10(min |x|)))`` decimals and formatted together,
  z rounded to 3 decimals, p-values by ``format.pval`` in two groups (exponent
  >= -4 fixed, smaller in scientific notation) with ``<2e-16`` / ``< 2e-16`` as R
  chooses the space.

Widths follow R's; the quotes of the significance legend are ASCII (R prints
typographic quotes in a UTF-8 locale).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np

from lib.glmm.convergence import SINGULAR_MESSAGE
from lib.model.response import ResponseFamily
from lib.present.family import family_line, method_name
from lib.present.glmm_summary import (
    glmm_criteria,
    glmm_fixef_corr_table,
    glmm_fixef_table,
    glmm_ngroups,
    glmm_varcorr_table,
)
from lib.present.lme4_text import EPS_P, SIGNIF_LEGEND, _table, abbreviate, format_r, stars

DIGITS = 4  # summary.merMod's print: max(3, getOption("digits") - 3)
TITLE_WIDTH = 80  # strwrap's default width (getOption("width"))
DEPARSE_CUTOFF = 60  # deparse's width.cutoff
MAX_CORR_P = 12  # getOption("lme4.summary.cor.max")


def title_lines(nagq: int) -> list[str]:
    """``Generalized linear mixed model fit by maximum likelihood (...) [glmerMod]``,
    wrapped as ``strwrap(width = 80, exdent = 2)`` wraps it (lines shorter than 80)."""
    text = (
        "Generalized linear mixed model fit by maximum likelihood "
        f"({method_name(nagq)}) [glmerMod]"
    )
    return textwrap.wrap(
        text,
        width=TITLE_WIDTH - 1,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


#: Where R's ``deparse`` may break a line: after a binary operator it writes with spaces
#: (``+ - * | || ~``, PP_BINARY in R's names.c) and after a call's argument comma.
BREAK_AFTER = (" + ", " - ", " * ", " | ", " || ", " ~ ", ", ")


def formula_lines(formula: str) -> list[str]:
    """The formula as R's ``deparse`` lays it out (src/main/deparse.c, ``linebreak``):
    after writing an operator, a line longer than 60 characters is broken; later lines
    are indented by 4 spaces."""
    lines, current, k = [], "", 0
    while k < len(formula):
        op = next((b for b in BREAK_AFTER if formula.startswith(b, k)), None)
        if op is None:
            current += formula[k]
            k += 1
            continue
        current += op
        k += len(op)
        if len(current) > DEPARSE_CUTOFF and k < len(formula):
            lines.append(current.rstrip())
            current = "    "
    lines.append(current)
    return lines


def named_vector(names: Sequence[str], values: Sequence[str]) -> list[str]:
    """R's print of a named vector: every column as wide as the widest name or value."""
    width = max(len(s) for s in [*names, *values])
    return [
        " ".join(n.rjust(width) for n in names),
        " ".join(v.rjust(width) for v in values),
    ]


def _r_format_sci(values: Sequence[float], digits: int) -> list[str]:
    """R's ``format(x, digits)`` in scientific notation: one mantissa length for all."""
    mantissa = 0
    for v in values:
        text = f"{abs(v):.{digits - 1}e}".split("e")[0].replace(".", "").rstrip("0")
        mantissa = max(mantissa, len(text) - 1)
    out = []
    for v in values:
        m, e = f"{v:.{mantissa}e}".split("e")
        out.append(f"{m}e{int(e):+03d}")
    return out


def format_pvals(p: Sequence[float], digits: int = 3) -> list[str]:
    """R's ``format.pval(p, digits, eps = .Machine$double.eps)`` for a column (R 4.2)."""
    p = [float(v) for v in p]
    out = ["NA" if not math.isfinite(v) else "" for v in p]
    tiny = [k for k, v in enumerate(p) if math.isfinite(v) and v < EPS_P]
    rest = [k for k, v in enumerate(p) if math.isfinite(v) and v >= EPS_P]
    expo = {k: math.floor(math.log10(p[k])) if p[k] > 0 else -50 for k in rest}
    fixed = [k for k in rest if expo[k] >= -3 or (expo[k] == -4 and digits > 1)]
    sci = [k for k in rest if k not in fixed]
    for k, text in zip(fixed, format_r([p[k] for k in fixed], digits), strict=True):
        out[k] = text
    for k, text in zip(sci, _r_format_sci([p[k] for k in sci], digits), strict=True):
        out[k] = text
    if tiny:
        eps_digits = max(1, digits - 2)
        sep = " "
        if rest:
            nc = max(len(out[k]) for k in rest)
            if eps_digits > 1 and eps_digits + 6 > nc:
                eps_digits = max(1, nc - 7)
            sep = "" if eps_digits == 1 and nc <= 6 else " "
        elif eps_digits == 1:
            sep = ""
        eps = f"{EPS_P:.{eps_digits - 1}e}".split("e")
        eps_text = f"{eps[0]}e{int(eps[1]):+03d}"
        for k in tiny:
            out[k] = f"<{sep}{eps_text}"
    return out


def glmm_summary_text(
    fit,  # noqa: ANN001 - a lib.glmm.GlmmFit
    formula: str,
    response: ResponseFamily,
    data_name: str = "data",
) -> str:
    """``print(summary(m))`` of lme4 for a ``glmer`` fit.

    Parameters
    ----------
    fit : GlmmFit
    formula : str
        Shown on the ``Formula:`` line as given (``lib.present.family.glmer_formula``
        writes one from a spec).
    response : ResponseFamily
        For the ``Family:`` line.
    data_name : str
        Shown on the ``Data:`` line.
    """
    lines = title_lines(fit.nagq)
    lines.append(f" Family: {family_line(response)}")
    first, *more = formula_lines(formula)
    lines += [f"Formula: {first}", *more, f"   Data: {data_name}", ""]
    crit = glmm_criteria(fit).iloc[0]
    values = [f"{round(float(crit[c]), 1):.1f}" for c in ("AIC", "BIC", "logLik", "deviance")]
    lines += named_vector(
        ["AIC", "BIC", "logLik", "deviance", "df.resid"], [*values, str(fit.df_resid)]
    )
    lines += ["", "Scaled residuals: "]
    lines += named_vector(
        ["Min", "1Q", "Median", "3Q", "Max"], format_r(list(fit.scaled_resid_quantiles), DIGITS)
    )
    lines += ["", "Random effects:"]
    lines += _random_effects(fit)
    groups = "; ".join(f"{name}, {count}" for name, count in glmm_ngroups(fit).items())
    lines += [f"Number of obs: {fit.nobs}, groups:  {groups}", ""]
    lines += _fixed_effects(fit)
    lines += _correlations(fit)
    lines += _warnings(fit)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _warnings(fit) -> list[str]:  # noqa: ANN001
    """lme4's ``.prt.warn``: the optimizer line and the checkConv messages (a singular
    fit's "boundary (singular) fit" among them), only when there are messages."""
    check = getattr(fit, "convergence", None)
    messages = list(check.messages) if check is not None else []
    if check is None and fit.singular:
        messages = [SINGULAR_MESSAGE]
    if not messages:
        return []
    return ["optimizer (bobyqa) convergence code: 0 (OK)", *messages]


def _random_effects(fit) -> list[str]:  # noqa: ANN001
    vc = glmm_varcorr_table(fit)
    corr_cols = [c for c in vc.columns if c.startswith("Corr")]
    variance = format_r(vc["Variance"].tolist(), DIGITS)
    sd = format_r(vc["Std.Dev."].tolist(), DIGITS)
    rows = []
    for k in range(len(vc)):
        corr = [
            f"{vc.iloc[k][c]:.2f}" if math.isfinite(vc.iloc[k][c]) else "" for c in corr_cols
        ]
        rows.append([vc["Groups"].iloc[k], vc["Name"].iloc[k], variance[k], sd[k], *corr])
    corr_header = ["Corr"] + [""] * (len(corr_cols) - 1) if corr_cols else []
    header = ["Groups", "Name", "Variance", "Std.Dev.", *corr_header]
    # lme4 prints this block as a character matrix: every column left-aligned.
    return [" " + line for line in _table(header, rows, left=len(header))]


def _fixed_effects(fit) -> list[str]:  # noqa: ANN001
    table = glmm_fixef_table(fit)
    coef_se = np.concatenate([table["Estimate"].to_numpy(), table["Std. Error"].to_numpy()])
    # printCoefmat: round to digits - digmin decimals, digmin = 1 + floor(log10(range)),
    # so the smallest |value| decides (max(1, digits - digmin) over both ends).
    finite = np.abs(coef_se[np.isfinite(coef_se) & (coef_se != 0)])
    smallest = 1 + math.floor(math.log10(finite.min())) if finite.size else 1
    both = format_r(np.round(coef_se, max(1, DIGITS - smallest)).tolist(), DIGITS)
    n = len(table)
    zvals = format_r(np.round(table["z value"].to_numpy(), DIGITS - 1).tolist(), DIGITS)
    pvals = table["Pr(>|z|)"].tolist()
    ptext = format_pvals(pvals, DIGITS - 1)
    rows = [
        [str(name), both[k], both[n + k], zvals[k], ptext[k], stars(pvals[k])]
        for k, name in enumerate(table.index)
    ]
    header = ["", "Estimate", "Std. Error", "z value", "Pr(>|z|)", ""]
    # printCoefmat: names left-aligned, numbers right-aligned, the stars left-aligned.
    lines = _table(header[:-1], [r[:-1] for r in rows], left=1)
    star_width = max(len(r[-1]) for r in rows)
    lines = [
        f"{line} {r[-1].ljust(star_width)}"
        for line, r in zip(lines, [header, *rows], strict=True)
    ]
    return ["Fixed effects:", *lines, "---", SIGNIF_LEGEND]


def _correlations(fit) -> list[str]:  # noqa: ANN001
    p = len(fit.fixef_names)
    if p < 2:
        return []
    if p > MAX_CORR_P:
        return [
            "",
            f"Correlation matrix not shown by default, as p = {p} > {MAX_CORR_P}.",
            "Use print(x, correlation=TRUE)  or",
            "    vcov(x)        if you need it",
        ]
    corr = glmm_fixef_corr_table(fit)
    rows_names = abbreviate(list(corr.index), 11)
    col_names = abbreviate(list(corr.columns), 6)
    # lme4 formats the matrix as text (one width for every value), then prints it as a
    # character matrix: every column, header included, left-aligned.
    cells = [[f"{v:.3f}" if math.isfinite(v) else "" for v in row] for row in corr.to_numpy()]
    width = max(len(c) for row in cells for c in row)
    body = [
        [rn] + [c.rjust(width) if c else "" for c in row]
        for rn, row in zip(rows_names, cells, strict=True)
    ]
    return [
        "",
        "Correlation of Fixed Effects:",
        *_table(["", *col_names], body, left=len(col_names) + 1),
    ]
