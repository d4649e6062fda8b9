"""An LmmFit as text in the layout of lme4/lmerTest's ``print(summary(m))``.

The numbers come from ``lib.present.summary``'s tables; this module only
formats them. Number formatting follows R closely enough to read the same:
``format_r`` is R's ``format(x, digits = d)`` for a column (one number of
decimals for all, the fewest that show every value to ``d`` significant digits),
p-values are ``format.pval`` (``< 2e-16`` below machine precision), stars are
``printCoefmat``'s, and the correlation labels are ``abbreviate``d as lme4 does.
Widths are not guaranteed to equal R's character for character.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lib.present.summary import (
    fit_criteria,
    fixef_corr_table,
    fixef_table,
    scaled_residuals,
    varcorr_table,
)

EPS_P = 2.220446049250313e-16  # R's .Machine$double.eps, format.pval's eps
SIGNIF_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


def _decimals(x: float, digits: int) -> int:
    """Decimals R needs to show x to ``digits`` significant digits, trailing zeros dropped."""
    if x == 0 or not math.isfinite(x):
        return 0
    text = f"{abs(x):.{digits - 1}e}"
    mantissa, exponent = text.split("e")
    significant = mantissa.replace(".", "").rstrip("0") or "0"
    return max(0, len(significant) - 1 - int(exponent))


def format_r(values: Sequence[float], digits: int) -> list[str]:
    """R's ``format(values, digits = digits)`` in fixed notation, NaN as blank."""
    finite = [v for v in values if math.isfinite(v)]
    decimals = max((_decimals(v, digits) for v in finite), default=0)
    decimals = min(decimals, 15)
    return [f"{v:.{decimals}f}" if math.isfinite(v) else "" for v in values]


def format_pval(p: float, digits: int = 3) -> str:
    """R's ``format.pval(p, digits, eps = .Machine$double.eps)``."""
    if not math.isfinite(p):
        return "NA"
    if p < EPS_P:
        return "< 2e-16"
    if p < 1e-4:
        return f"{p:.{max(digits - 1, 0)}e}"
    return f"{p:.{digits}g}"


def stars(p: float) -> str:
    if not math.isfinite(p):
        return ""
    for cut, mark in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return mark
    return ""


def abbreviate(names: Sequence[str], minlength: int) -> list[str]:
    """R's ``abbreviate(names, minlength)``: drop lower-case vowels from the right, then
    lower-case letters, keeping the first character; lengthen duplicates."""

    def shorten(name: str, length: int) -> str:
        chars = list(name)
        for droppable in ("aeiou", "abcdefghijklmnopqrstuvwxyz"):
            k = len(chars) - 1
            while len(chars) > length and k > 0:
                if chars[k] in droppable:
                    del chars[k]
                k -= 1
        return "".join(chars)

    out = [shorten(n, minlength) for n in names]
    for _ in range(100):
        seen: dict[str, int] = {}
        for a in out:
            seen[a] = seen.get(a, 0) + 1
        clashes = [i for i, a in enumerate(out) if seen[a] > 1]
        if not clashes:
            break
        for i in clashes:
            out[i] = shorten(names[i], len(out[i]) + 1)
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> list[str]:
    """Columns right-aligned (the first ``left`` columns left-aligned), one space apart."""
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.ljust(widths[j]) if j < left else cell.rjust(widths[j])
            for j, cell in enumerate(row)
        ]
        lines.append(" ".join(cells))
    return lines


def summary_text(fit, formula: str | None = None, data_name: str = "data") -> str:  # noqa: ANN001
    """``print(summary(m))`` of lmerTest for ``fit`` (an LmmFit)."""
    lines = []
    method = "REML" if fit.reml else "maximum likelihood "
    lines.append(
        f"Linear mixed model fit by {method}. t-tests use Satterthwaite's method [lmerModLmerTest]"
    )
    lines.append(f"Formula: {formula or fit.formula}")
    lines.append(f"   Data: {data_name}")
    lines.append("")
    criteria = fit_criteria(fit).iloc[0]
    if fit.reml:
        lines.append(f"REML criterion at convergence: {fit.criterion:.1f}")
    else:
        values = [fit.aic, fit.bic, fit.loglik, fit.criterion, fit.nobs - fit.npar]
        cells = [f"{v:.1f}" for v in values[:4]] + [str(int(values[4]))]
        lines += _table(["AIC", "BIC", "logLik", "deviance", "df.resid"], [cells])
    lines.append("")
    lines.append("Scaled residuals: ")
    resid = scaled_residuals(fit)
    lines += _table(list(resid.columns), [format_r(resid.iloc[0].tolist(), 4)])
    lines.append("")
    lines.append("Random effects:")
    vc = varcorr_table(fit)
    corr_cols = [c for c in vc.columns if c.startswith("Corr")]
    variance = format_r(vc["Variance"].tolist(), 4)
    sd = format_r(vc["Std.Dev."].tolist(), 4)
    rows = []
    for k, row in enumerate(vc.itertuples(index=False)):
        corr = [
            f"{getattr(row, c.replace('.', '_'), float('nan')):.2f}"
            if math.isfinite(vc.iloc[k][c])
            else ""
            for c in corr_cols
        ]
        rows.append([row.Groups, row.Name, variance[k], sd[k], *corr])
    corr_header = ["Corr"] + [""] * (len(corr_cols) - 1) if corr_cols else []
    header = ["Groups", "Name", "Variance", "Std.Dev.", *corr_header]
    # lme4 prints this block as a character matrix: every column left-aligned.
    lines += [" " + line for line in _table(header, rows, left=len(header))]
    groups = "; ".join(f"{name}, {int(criteria[f'Groups: {name}'])}" for name in fit.ngroups)
    lines.append(f"Number of obs: {fit.nobs}, groups:  {groups}")
    lines.append("")
    lines += _fixed_effects(fit)
    corr = fixef_corr_table(fit)
    if not corr.empty:
        lines.append("")
        lines.append("Correlation of Fixed Effects:")
        rows_names = abbreviate(list(corr.index), 11)
        col_names = abbreviate(list(corr.columns), 6)
        body = [
            [rn] + [f"{v:.3f}" if math.isfinite(v) else "" for v in corr.iloc[i].tolist()]
            for i, rn in enumerate(rows_names)
        ]
        lines += _table(["", *col_names], body, left=1)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _fixed_effects(fit) -> list[str]:  # noqa: ANN001
    table = fixef_table(fit)
    coef_se = np.concatenate([table["Estimate"].to_numpy(), table["Std. Error"].to_numpy()])
    # printCoefmat: estimates and SEs rounded to digits - (1 + floor(log10(max |value|)))
    # decimals, then formatted together.
    finite = np.abs(coef_se[np.isfinite(coef_se) & (coef_se != 0)])
    biggest = 1 + math.floor(math.log10(finite.max())) if finite.size else 1
    both = format_r(np.round(coef_se, max(1, 7 - biggest)).tolist(), 7)
    n = len(table)
    df = format_r(table["df"].tolist(), 7)
    rows = []
    for k, name in enumerate(table.index):
        p = float(table["Pr(>|t|)"].iloc[k])
        rows.append(
            [
                str(name),
                both[k],
                both[n + k],
                df[k],
                f"{table['t value'].iloc[k]:.3f}",
                format_pval(p),
                stars(p),
            ]
        )
    header = ["", "Estimate", "Std. Error", "df", "t value", "Pr(>|t|)", ""]
    lines = ["Fixed effects:", *_table(header, rows, left=1)]
    lines += ["---", SIGNIF_LEGEND]
    return lines
