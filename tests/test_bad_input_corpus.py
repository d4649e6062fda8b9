# ruff: noqa: E501 - the corpus is a table, one case per line
"""A corpus of bad and hostile files, made here, through the CLI and the app's loaders.

Every file goes through ``python -m lib fit`` in a subprocess (run a few at a
time) and through what the app does with an upload (``load_table``,
``guess_roles``, ``validate``). Each must end in a clear one-line message (exit
status 2, ``DataError``) or a correct fit; never a traceback or a flood of
warnings; nothing named in the data may execute; and no valid row may be lost
without being counted. Outcomes are counted by class and printed at the end of
the test run (see ``tests/conftest.py``).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError
from lib.table.read import load_table
from lib.table.roles import Roles, guess_roles
from lib.table.validate import validate

ROOT = Path(__file__).resolve().parents[1]
PWN = "__import__('os').system('touch PWNED')"
FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"
COUNTS: dict[str, int] = {}


@dataclass
class Case:
    """One file and what must come of it.

    ``expect`` is "fit" (CLI fits ``nobs`` rows, dropping ``dropped``), or the
    stage that refuses it: "load" (file-level: both paths refuse), "validate"
    (the roles cannot work: both refuse) or "fit" errors that only the model
    can see (the app's validation passes, the CLI refuses): "model".
    """

    name: str
    content: bytes | None
    expect: str
    match: str = ""
    nobs: int = 0
    dropped: int = 0
    outcome: str = "y"
    group: str = "g"
    fixed: str = "x"
    random: str = "intercept"
    spec: dict | None = None
    labels: tuple[str, ...] = ()
    slow: bool = False
    extra_args: tuple[str, ...] = field(default=())


def base(groups: int = 20, per: int = 10, seed: int = 1, labels=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = groups * per
    codes = np.repeat(np.arange(groups), per)
    names = labels if labels is not None else [f"s{k:02d}" for k in range(groups)]
    x = rng.normal(5, 2, size=n)
    y = 10 + 0.5 * x + rng.normal(0, 2, size=groups)[codes] + rng.normal(0, 1, size=n)
    return pd.DataFrame({"g": [names[k] for k in codes], "x": x, "y": y})


def csv(frame: pd.DataFrame, **kwargs) -> bytes:
    encoding = kwargs.pop("encoding", "utf-8")
    return frame.to_csv(index=kwargs.pop("index", False), **kwargs).encode(encoding)


def with_value(column: str, row: int, value: object, frame: pd.DataFrame | None = None):
    frame = base() if frame is None else frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    return frame


def xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    return buffer.getvalue()


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def corpus() -> list[Case]:
    b = base()
    rng = np.random.default_rng(3)
    cases = [
        # --- encodings
        Case("utf8.csv", csv(b), "fit", nobs=200),
        Case("bom.csv", b"\xef\xbb\xbf" + csv(b), "fit", nobs=200),
        Case(
            "latin1.csv",
            csv(base(labels=[f"école{k:02d}" for k in range(20)]), encoding="latin-1"),
            "fit",
            nobs=200,
            labels=("école00", "école19"),
        ),
        Case(
            "cp1252.csv",
            csv(base(labels=[f"€uro “{k}”" for k in range(20)]), encoding="cp1252"),
            "fit",
            nobs=200,
            labels=("€uro “0”",),
        ),
        Case(
            "utf16.csv",
            "\ufeff".encode("utf-16-le") + b.to_csv(index=False).encode("utf-16-le"),
            "fit",
            nobs=200,
        ),
        Case(
            "cjk_emoji.csv",
            csv(base(labels=[f"学校{k}🏫" for k in range(20)])),
            "fit",
            nobs=200,
            labels=("学校0🏫",),
        ),
        # --- delimiters and decimal marks
        Case("semicolon_point.csv", csv(b, sep=";"), "fit", nobs=200),
        Case("semicolon_comma.csv", csv(b, sep=";", decimal=","), "fit", nobs=200),
        Case("tab.csv", csv(b, sep="\t"), "fit", nobs=200),
        Case("tab_comma.txt", csv(b, sep="\t", decimal=","), "fit", nobs=200),
        Case("pipe.csv", csv(b, sep="|"), "fit", nobs=200),
        Case("tabs.tsv", csv(b, sep="\t"), "fit", nobs=200),
        Case("crlf.csv", csv(b, lineterminator="\r\n"), "fit", nobs=200),
        Case("r_rownames.csv", csv(b, index=True), "fit", nobs=200),
        Case("quoted_commas.csv", csv(base(labels=[f"A, {k}" for k in range(20)])), "fit", nobs=200),
        Case("trailing_blank.csv", csv(b) + b"\n\n   \n", "fit", nobs=200),
        Case(
            "decimal_comma_in_csv.csv",
            csv(with_value("y", 4, "12,5")),
            "validate",
            match="for example '12,5'",
        ),
        Case(
            "thousands.csv", csv(with_value("x", 9, "1,234")), "validate", match="'1,234'"
        ),
        Case("ragged.csv", csv(b) + b"s01,1,2,3,4\n", "load", match="could not be read|more fields"),
        # --- empty and structural
        Case("empty.csv", b"", "load", match="empty"),
        Case("blank.csv", b"  \n\n \t\n", "load", match="blank space|no columns"),
        Case("header_only.csv", b"g,x,y\n", "load", match="no data rows"),
        Case("one_row.csv", b"g,x,y\na,1,2\n", "validate", match="at least 2 groups|needs many"),
        Case("one_column.csv", b"y\n1\n2\n3\n", "validate", match="is not in the data"),
        Case("no_header.csv", csv(b, header=False), "validate", match="is not in the data"),
        Case("blank_names.csv", b"g,,y\na,1,2\nb,2,3\n", "load", match="empty names"),
        Case("duplicate_names.csv", b"g,x,y,y\na,1,2,3\n", "load", match="duplicate column"),
        # Reading has no column limit (the app shows at most 500); the CLI reads the model's.
        Case("many_columns.csv", csv(b.assign(**{f"c{k}": 1.0 for k in range(600)})), "fit", nobs=200),
        Case("trailing_comma.csv", csv(b).replace(b"\n", b",\n"), "fit", nobs=200),
        Case(
            "long_name.csv",
            csv(b.rename(columns={"y": "y" * 10_000})),
            "fit",
            nobs=200,
            outcome="y" * 10_000,
        ),
        # --- groups
        Case("one_group.csv", csv(b.assign(g="only")), "validate", match="at least 2 groups"),
        Case(
            "one_row_per_group.csv",
            csv(base(20, 1)),
            "model",
            match="Every row is its own group of 'g' \\(20 groups for 20 rows\\)",
        ),
        Case(
            "one_row_per_group_1e5.csv",
            csv(base(100_000, 1, labels=[f"p{k}" for k in range(100_000)])),
            "model",
            match="100,000 groups for 100,000 rows",
        ),
        Case(
            "two_rows_slope.csv",
            csv(base(50, 2)),
            "model",
            random="intercept,x",
            match=r"number of observations \(=100\) <= number of random effects \(=100\)",
        ),
        Case(
            "two_rows_slope_1e5.csv",
            csv(base(100_000, 2, labels=list(range(100_000)))),
            "model",
            random="intercept,x",
            match=r"\(=200000\) <= number of random effects \(=200000\)",
        ),
        Case("two_rows_intercept.csv", csv(base(50, 2)), "fit", nobs=100),
        Case("numeric_ids.csv", csv(base(labels=list(range(101, 121)))), "fit", nobs=200),
        Case(
            "logical_group.csv",
            csv(base(2, 30, labels=[True, False])),
            "fit",
            nobs=60,
            labels=("TRUE", "FALSE"),
        ),
        Case("missing_group.csv", csv(with_value("g", 7, None)), "fit", nobs=199, dropped=1),
        # --- the outcome
        Case("constant_y.csv", csv(b.assign(y=5.0)), "model", match="same value \\(5\\)"),
        Case(
            "constant_y_slope.csv",
            csv(b.assign(y=5.0)),
            "model",
            random="intercept,x",
            match="same value \\(5\\)",
        ),
        Case(
            "exact_y.csv",
            csv(b.assign(y=3 + 2 * b["x"])),
            "model",
            match="reproduce the outcome 'y' exactly",
        ),
        Case("binary_y.csv", csv(b.assign(y=(b["y"] > 13).astype(int))), "fit", nobs=200),
        Case("nan_y.csv", csv(with_value("y", 3, np.nan)), "fit", nobs=199, dropped=1),
        Case("inf_y.csv", csv(with_value("y", 3, "inf")), "fit", nobs=199, dropped=1),
        Case("minus_inf_x.csv", csv(with_value("x", 8, "-inf")), "fit", nobs=199, dropped=1),
        Case("na_markers.csv", csv(with_value("y", 2, "NA")), "fit", nobs=199, dropped=1),
        # "." (SPSS/SAS) and "-" mark missing numbers: read as missing, not as text.
        Case("dot_missing.csv", csv(with_value("y", 2, ".")), "fit", nobs=199, dropped=1),
        Case("dash_missing.csv", csv(with_value("x", 5, "-")), "fit", nobs=199, dropped=1),
        Case("text_y.csv", csv(with_value("y", 150, "abc")), "validate", match="'abc'"),
        Case("text_x.csv", csv(with_value("x", 150, "twelve")), "validate", match="'twelve'"),
        Case("all_nan_y.csv", csv(b.assign(y=np.nan)), "validate", match="No row|Only 0 complete rows"),
        Case("huge_y.csv", csv(b.assign(y=b["y"] * 1e300)), "model", match="Rescale it first"),
        Case("max_float_y.csv", csv(with_value("y", 0, 1.7e308)), "model", match="Rescale"),
        Case("tiny_y.csv", csv(b.assign(y=b["y"] * 1e-300)), "model", match="Rescale it first"),
        Case("huge_x.csv", csv(b.assign(x=b["x"] * 1e300)), "model", match="Rescale it first"),
        Case("tiny_x.csv", csv(b.assign(x=b["x"] * 1e-300)), "model", match="Rescale it first"),
        Case("small_units_x.csv", csv(b.assign(x=b["x"] * 1e-100)), "fit", nobs=200),
        Case("overflow_text.csv", csv(with_value("x", 0, "1e999")), "fit", nobs=199, dropped=1),
        # lme4 drops a column that the earlier ones determine, with a message (the CLI's
        # one warning line), and fits the rest.
        Case("constant_x.csv", csv(b.assign(x=1.0)), "fit", nobs=200),
        Case("collinear.csv", csv(b.assign(x2=2 * b["x"])), "fit", fixed="x,x2", nobs=200),
        # --- hostile names and labels
        Case(
            "pwn_labels.csv",
            csv(base(labels=[PWN + str(k) for k in range(20)])),
            "fit",
            nobs=200,
            labels=(PWN + "0",),
        ),
        Case("pwn_outcome.csv", csv(b.rename(columns={"y": PWN})), "fit", nobs=200, outcome=PWN),
        Case(
            "formula_labels.csv",
            csv(base(labels=[FORMULA + str(k) for k in range(20)])),
            "fit",
            nobs=200,
            labels=(FORMULA + "0",),
        ),
        Case(
            "script_labels.csv",
            csv(base(labels=[SCRIPT + str(k) for k in range(20)])),
            "fit",
            nobs=200,
            labels=(SCRIPT + "0",),
        ),
        Case(
            "template_names.csv",
            csv(b.rename(columns={"g": "${jndi:ldap://x}", "x": "{{7*7}}"})),
            "fit",
            nobs=200,
            group="${jndi:ldap://x}",
            fixed="{{7*7}}",
        ),
        Case(
            "newline_name.csv",
            csv(b.rename(columns={"y": "y\nz`) + (1|x"})),
            "fit",
            nobs=200,
            outcome="y\nz`) + (1|x",
        ),
        Case(
            "rtl_labels.csv",
            csv(base(labels=[f"\u202egnp.exe{k}" for k in range(20)])),
            "fit",
            nobs=200,
        ),
        Case(
            "long_labels.csv",
            csv(base(labels=[f"{k}" + "L" * 100_000 for k in range(20)])),
            "fit",
            nobs=200,
        ),
        Case(
            "pwn_spec.csv",
            csv(b),
            "validate",
            spec={"outcome": PWN, "fixed": [], "random": [{"group": ["g"]}]},
            match="is not in the data",
        ),
        Case(
            "pwn_spec_valid.csv",
            csv(b.rename(columns={"g": PWN})),
            "fit",
            nobs=200,
            group=PWN,
            spec={"outcome": "y", "fixed": ["x"], "random": [{"group": [PWN], "slopes": ["x"]}]},
        ),
        # --- wrong formats behind an extension
        Case("excel_as_csv.csv", xlsx(b), "load", match="Excel workbook .* rename it to end in .xlsx"),
        Case("gzip_as_csv.csv", gzip.compress(csv(b)), "load", match="gzip-compressed"),
        Case("parquet_as_csv.csv", parquet(b), "load", match="Parquet file; rename"),
        Case(
            "binary.csv",
            bytes(rng.integers(0, 256, size=4096, dtype=np.uint8)),
            "load",
            match="binary|could not be read|column names|not in the data",
        ),
        Case("pdf.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "load", match="PDF document"),
        Case("real.xlsx", xlsx(b), "fit", nobs=200),
        Case("real.parquet", parquet(b), "fit", nobs=200),
        Case("truncated.xlsx", xlsx(b)[:500], "load", match="could not be read as an Excel"),
        Case("truncated.parquet", parquet(b)[:300], "load", match="could not be read as a Parquet"),
        Case("csv_as.xlsx", csv(b), "load", match="could not be read as an Excel"),
        Case("data.json", json.dumps({"y": [1, 2]}).encode(), "load", match="unsupported file type"),
        Case("noextension", csv(b), "load", match="unsupported file type"),
        Case("html.csv", b"<html><body><table><tr><td>1</td></tr></table></body></html>", "load",
             match="no data rows"),
        Case("directory.csv", None, "load", match="is a directory"),
    ]  # fmt: skip
    return cases


CASES = corpus()


def run_cli(case: Case, folder: Path) -> subprocess.CompletedProcess:
    path = folder / case.name
    if case.content is None:
        path.mkdir()
    else:
        path.write_bytes(case.content)
    if case.spec is not None:
        spec_file = folder / (case.name + ".model.json")
        spec_file.write_text(json.dumps(case.spec), encoding="utf-8")
        args = ["--spec", str(spec_file)]
    else:
        args = ["--outcome", case.outcome, "--group", case.group, "--fixed", case.fixed]
        args += ["--random", case.random]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "lib", "fit", str(path), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Every case through the CLI, three subprocesses at a time, each in its own folder."""

    def one(case: Case):
        folder = tmp_path_factory.mktemp(re.sub(r"\W", "_", case.name)[:40])
        return case.name, (run_cli(case, folder), folder)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, CASES))


def count(kind: str) -> None:
    COUNTS[kind] = COUNTS.get(kind, 0) + 1


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.slow  # one subprocess per file: 1-4 s each, depending on the machine's load
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli(case: Case, cli_results):
    proc, folder = cli_results[case.name]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert not list(folder.rglob("PWNED")) and not Path("PWNED").exists()
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if case.expect == "fit":
        assert proc.returncode == 0, proc.stderr
        assert len(lines) <= 1, lines  # at most one summarised warning
        doc = json.loads(proc.stdout)
        assert doc["nobs"] == case.nobs and doc["n_dropped"] == case.dropped
        assert np.isfinite(doc["criterion"])
        group = case.spec["random"][0]["group"][0] if case.spec else case.group
        levels = set(doc["ranef"][group])
        assert all(label in levels for label in case.labels), sorted(levels)[:3]
        assert not any(label.startswith("b'") for label in levels)
        count("CLI: correct fit")
    else:
        assert proc.returncode == 2, (proc.returncode, proc.stdout[:500], proc.stderr[-500:])
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
        assert re.search(case.match, lines[0]), lines[0]
        assert len(lines[0]) < 900
        count(f"CLI: clear error ({case.expect})")


# A directory has no bytes to upload: that case is the CLI's only.
UPLOADABLE = [c for c in CASES if c.content is not None]


@pytest.mark.parametrize("case", UPLOADABLE, ids=[c.name for c in UPLOADABLE])
def test_app_loaders(case: Case, recwarn):
    group = case.spec["random"][0]["group"][0] if case.spec else case.group
    outcome = case.spec["outcome"] if case.spec else case.outcome
    predictor = case.fixed.split(",")[0] if not case.spec else (case.spec["fixed"] or [None])[0]
    try:
        frame = load_table(case.content, case.name)
        try:
            guess_roles(frame)
        except DataError as exc:
            assert "\n" not in str(exc)
        report = validate(frame, Roles(outcome=outcome, predictor=predictor, group=group))
    except DataError as exc:
        message = str(exc)
        assert case.expect in ("load", "validate"), message
        assert "\n" not in message or case.name == "newline_name.csv"
        assert re.search(case.match, message), message
        count(f"app loaders: clear error ({case.expect})")
        return
    finally:
        assert len([w for w in recwarn if issubclass(w.category, RuntimeWarning)]) == 0
    assert case.expect in ("fit", "model"), report
    if case.expect == "fit":
        assert report.n_used == case.nobs and report.n_dropped == case.dropped
    count("app loaders: accepted (fit or refused by the model)")


@pytest.mark.slow
def test_a_200_mb_file(tmp_path):
    """~200 MB of CSV: read by the app's loader and fitted by the CLI, then deleted."""
    groups, per = 16_000, 100
    n = groups * per
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "g": np.repeat(np.arange(groups), per),
            "x": rng.normal(size=n).round(6),
            "y": rng.normal(size=n).round(6),
            "note": "n" * 100,
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    try:
        size = path.stat().st_size
        assert 190e6 < size < 209e6
        proc = subprocess.run(
            [sys.executable, "-m", "lib", "fit", str(path), "--outcome", "y", "--group", "g"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["nobs"] == n
        loaded = load_table(path.read_bytes(), "big.csv")
        assert len(loaded) == n
        count("CLI: correct fit")
        count("app loaders: accepted (fit or refused by the model)")
    finally:
        path.unlink()
    too_big = b"g,x,y\n" + b"a,1,2\n" * (210 * 1024 * 1024 // 6)
    with pytest.raises(DataError, match="the limit is 210 MB"):
        load_table(too_big, "huge.csv")
    count("app loaders: clear error (load)")
