"""lme4's two ways of writing a generalized model's response in the formula.

``cbind(s, n - s) ~ ...`` (successes and failures: a binomial outcome with trials
column ``n``) and ``... + offset(x)`` (a column added to the linear predictor). Our
formula parser (``lib.model.formula``) evaluates no function calls, so these two are
read here by pattern, for plain column names only, and turned into the
``ResponseFamily``'s ``trials`` and ``offset``; anything else inside ``cbind()`` or
``offset()`` (``offset(log(x))``) goes on to the parser, which says to compute the
column first.
"""

from __future__ import annotations

import re

from lib.errors import SpecError

_NAME = r"[A-Za-z.][A-Za-z0-9._]*"
CBIND = re.compile(rf"^\s*cbind\(\s*({_NAME})\s*,\s*({_NAME})\s*-\s*\1\s*\)\s*~")
OFFSET = re.compile(rf"\+\s*offset\(\s*({_NAME})\s*\)")


def read_lme4_response(
    formula: str, trials: str | None = None, offset: str | None = None
) -> tuple[str, str | None, str | None]:
    """``cbind(s, n - s) ~ ...`` -> ``s ~ ...`` with trials ``n``; ``+ offset(x)`` removed
    with offset ``x``. A trials or offset given as well must name the same column.

    Returns
    -------
    (formula, trials, offset)
    """
    match = CBIND.match(formula)
    if match:
        successes, column = match.group(1), match.group(2)
        if trials is not None and trials != column:
            raise SpecError(f"The formula's cbind() names trials {column!r} but trials={trials!r}.")
        formula, trials = f"{successes} ~" + formula[match.end() :], column
    offsets = OFFSET.findall(formula)
    if len(offsets) > 1:
        raise SpecError("Give one offset column (add the columns first if you need several).")
    if offsets:
        if offset is not None and offset != offsets[0]:
            raise SpecError(f"The formula's offset({offsets[0]}) and offset={offset!r} differ.")
        formula, offset = OFFSET.sub("", formula), offsets[0]
    return formula, trials, offset
