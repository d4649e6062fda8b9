"""Test-run report: the bad-input corpus's outcomes counted by class."""

from __future__ import annotations

import traceback

import pytest


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    import sys

    modules = [m for name, m in sys.modules.items() if name.endswith("test_bad_input_corpus")]
    counts = getattr(modules[0], "COUNTS", None) if modules else None
    if not counts:
        return
    terminalreporter.section("bad-input corpus: outcomes by class")
    for kind, number in sorted(counts.items()):
        terminalreporter.write_line(f"{number:4d}  {kind}")


@pytest.fixture(autouse=True)
def _charts_name_typed_channels():
    """``lib/charts`` gives every encoding as its typed channel (``alt.X("a:Q")``, not
    ``"a:Q"``): for a shorthand string altair builds a lookup of all its ~600 schema
    classes (``_FromDict``, ~2 ms a channel), which a cold Model page paid 14 times (issue
    17's toggle burst). Fails a test in which a chart of ``lib/charts`` did that."""
    from altair.utils import schemapi

    original = schemapi._FromDict.__init__
    offenders: list[str] = []

    def recording(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        frames = [f for f in traceback.extract_stack() if "/lib/charts/" in f.filename]
        if frames:
            offenders.append(f"{frames[-1].filename}:{frames[-1].lineno}")
        return original(self, *args, **kwargs)

    schemapi._FromDict.__init__ = recording
    try:
        yield
    finally:
        schemapi._FromDict.__init__ = original
    assert not offenders, f"shorthand encodings in lib/charts at {sorted(set(offenders))}"
