"""One way to write numbers: p-values as R writes them, table cells, sentences, Markdown."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from lib.present.markdown import code, md
from lib.present.numbers import P_COLUMNS, cell, fmt, p_text, pval

REFERENCE = Path(__file__).parent / "reference" / "pval_reference.csv"


def _reference() -> list[tuple[float, str]]:
    with REFERENCE.open(newline="", encoding="utf-8") as handle:
        return [(float(row["p"]), row["r"]) for row in csv.DictReader(handle)]


def test_pval_is_r_format_pval_with_three_digits():
    """Every value of ``make_pval_reference.R``, as ``format.pval(p, digits = 3)`` wrote it
    (R's lone ``<2e-16`` gets summary()'s column spacing: ``< 2e-16``)."""
    rows = _reference()
    assert len(rows) == 327
    wrong = [(p, r, pval(p)) for p, r in rows if pval(p) != r.replace("<", "< ")]
    assert wrong == []


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.5131, "0.513"),
        (0.000567, "0.000567"),
        (5e-4, "5e-04"),
        (3.264e-06, "3.26e-06"),
        (1e-20, "< 2e-16"),
        (math.nan, ""),
        (None, ""),
    ],
)
def test_pval_examples(p, text):
    assert pval(p) == text


def test_p_text_reads_in_a_sentence():
    assert p_text(0.05552) == "p = 0.0555"
    assert p_text(0.0) == "p < 2e-16"


def test_cells_write_p_columns_by_pval_and_other_numbers_by_fmt():
    for column in P_COLUMNS:
        assert cell(0.5131, column) == "0.513"
        assert cell(np.float64(1e-30), column) == "< 2e-16"
        assert cell(math.nan, column) == ""
    assert cell(0.5131, "Estimate") == "0.5131" == fmt(0.5131)
    assert cell(1234, "n") == "1,234"
    assert cell("text", "Pr(>|t|)") == "text"


def test_markdown_escapes_user_text_and_keeps_it_on_one_line():
    hostile = "**b** [x](javascript:1) <img> `c` :school: a\nb\r\nc\rd # 1. - +"
    escaped = md(hostile)
    unescaped = escaped.replace("\\\\", "")
    for special in "*[]()<>`:#.-+":
        assert all(unescaped[k - 1] == "\\" for k, ch in enumerate(unescaped) if ch == special)
    assert "\n" not in escaped and "\r" not in escaped
    assert code("a`b") == "`a'b`"
