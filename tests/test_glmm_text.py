"""``lib.present.glmm_text``: our printout of a glmer fit against R's own printout.

``tests/reference/glmm_print.json`` holds ``print(summary(glmer(...)))`` as lme4 1.1-31
printed it (``tests/reference/glmm_print.R``). Each case is fitted here with
``lib.glmm`` and printed; the layout must be R's character for character with every
number masked, and each number must agree with R's within the issue's tolerances
(2e-3 relative: our SEs are the exact Hessian's, lme4's a finite-difference one) or
one unit in the last printed digit.
"""

from __future__ import annotations

import json
import re
from functools import cache

import numpy as np
import pytest

from lib.glmm import fit_glmm
from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.present.glmm_text import format_pvals, formula_lines, glmm_summary_text, title_lines
from tests.glmm_reference import ROOT, case

PRINTOUT = ROOT / "tests" / "reference" / "glmm_print.json"
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])-?\d+(?:\.\d+)?(?:e[-+]\d+)?(?![A-Za-z0-9_])")

OWLS = "SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime + (1 | Nest)"
#: How each R case is fitted here: formula, family, and columns made as a user would
#: (a 0/1 outcome and R's dummy for a random slope; the log of brood size as a column).
CASES = {
    "cbpp_laplace": ("incidence ~ period + (1 | herd)", ResponseFamily("binomial", trials="size")),
    "cbpp_probit": (
        "incidence ~ period + (1 | herd)",
        ResponseFamily("binomial", "probit", trials="size"),
    ),
    "cbpp_singular": (
        "incidence ~ period + (1 | herd) + (1 | period)",
        ResponseFamily("binomial", trials="size"),
    ),
    "cbpp_agq9": ("incidence ~ period + (1 | herd)", ResponseFamily("binomial", trials="size")),
    "contraception_slope": (
        "use01 ~ age + urbanY + livch + (urbanY | district)",
        ResponseFamily("binomial"),
    ),
    "owls_offset": (OWLS, ResponseFamily("poisson", offset="logBroodSize")),
    "grouseticks_poisson": (
        "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
        ResponseFamily("poisson"),
    ),
}


@cache
def r_printouts() -> dict:
    return {c["id"]: c for c in json.loads(PRINTOUT.read_text(encoding="utf-8"))["cases"]}


@cache
def our_text(case_id: str) -> str:
    formula, response = CASES[case_id]
    frame = case("cbpp_laplace" if case_id == "cbpp_singular" else case_id).frame
    if case_id == "contraception_slope":
        frame["use01"] = (frame["use"] == "Y").astype(int)
        frame["urbanY"] = (frame["urban"] == "Y").astype(int)
    if case_id == "owls_offset":
        frame["logBroodSize"] = np.log(frame["BroodSize"].astype(float))
    nagq = r_printouts()[case_id]["nAGQ"]
    fit = fit_glmm(frame, parse_formula(formula), response, nagq)
    r = r_printouts()[case_id]
    return glmm_summary_text(fit, r["formula"], response, r["data_name"])


def r_lines(case_id: str) -> list[str]:
    # R prints typographic quotes in the legend in a UTF-8 locale; ours are ASCII. R's
    # .prt.warn ends with an empty line; the text's end is its last line.
    lines = [
        line.rstrip().replace("\u2018", "'").replace("\u2019", "'")
        for line in r_printouts()[case_id]["lines"]
    ]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def masked(line: str) -> str:
    return NUMBER.sub(lambda m: "#" * len(m.group()), line)


def _close(ours: str, theirs: str) -> bool:
    a, b = float(ours), float(theirs)
    decimals = len(theirs.split("e")[0].partition(".")[2])
    unit = 10.0 ** -decimals * (10.0 ** int(theirs.split("e")[1]) if "e" in theirs else 1.0)
    return abs(a - b) <= max(2e-3 * abs(b), 1.01 * unit)


@pytest.mark.parametrize("case_id", list(CASES))
def test_layout_is_rs_with_numbers_masked(case_id):
    ours = our_text(case_id).rstrip("\n").split("\n")
    theirs = r_lines(case_id)
    assert [masked(x) for x in ours] == [masked(x) for x in theirs]


@pytest.mark.parametrize("case_id", list(CASES))
def test_every_number_agrees_with_r(case_id):
    ours = our_text(case_id).rstrip("\n").split("\n")
    theirs = r_lines(case_id)
    compared = 0
    for mine, r in zip(ours, theirs, strict=True):
        a, b = NUMBER.findall(mine), NUMBER.findall(r)
        assert len(a) == len(b), (mine, r)
        for x, y in zip(a, b, strict=True):
            assert _close(x, y), (x, y, r)
            compared += 1
    assert compared > 40


def test_texts_name_family_method_and_data():
    text = our_text("owls_offset")
    assert text.startswith(
        "Generalized linear mixed model fit by maximum likelihood (Laplace\n"
        "  Approximation) [glmerMod]\n Family: poisson  ( log )\n"
    )
    assert "   Data: owls\n" in text
    assert "Pr(>|z|)" in text and "t value" not in text


def test_format_pvals_is_rs_format_pval():
    # R 4.2: format.pval(c(3.6338e-11, 0.0010104, 0.00027312, 9.3812e-05), digits = 3)
    assert format_pvals([3.6338e-11, 0.0010104, 0.00027312, 9.3812e-05]) == [
        "3.63e-11", "0.001010", "0.000273", "9.38e-05",
    ]  # fmt: skip
    # Below machine epsilon: "<2e-16" beside short values, "< 2e-16" beside long ones.
    assert format_pvals([1e-54, 0.2677]) == ["<2e-16", "0.268"]
    assert format_pvals([1e-30, 9.38e-4, 1.59e-6]) == ["< 2e-16", "0.000938", "1.59e-06"]
    assert format_pvals([float("nan")]) == ["NA"]


def test_singular_fit_ends_with_lme4s_messages():
    assert our_text("cbpp_singular").rstrip("\n").split("\n")[-2:] == [
        "optimizer (bobyqa) convergence code: 0 (OK)",
        "boundary (singular) fit: see help('isSingular')",
    ]


def test_formula_and_title_wrap_as_r():
    assert formula_lines(r_printouts()["cbpp_singular"]["formula"]) == [
        "cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 |",
        "    period)",
    ]
    assert formula_lines(r_printouts()["owls_offset"]["formula"]) == [
        "SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime +",
        "    offset(log(BroodSize)) + (1 | Nest)",
    ]
    assert title_lines(9) == [
        "Generalized linear mixed model fit by maximum likelihood (Adaptive",
        "  Gauss-Hermite Quadrature, nAGQ = 9) [glmerMod]",
    ]
    assert title_lines(9) == r_lines("cbpp_agq9")[:2]
