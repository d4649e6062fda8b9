"""Test-run report: the bad-input corpus's outcomes counted by class."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    import sys

    modules = [m for name, m in sys.modules.items() if name.endswith("test_bad_input_corpus")]
    counts = getattr(modules[0], "COUNTS", None) if modules else None
    if not counts:
        return
    terminalreporter.section("bad-input corpus: outcomes by class")
    for kind, number in sorted(counts.items()):
        terminalreporter.write_line(f"{number:4d}  {kind}")
