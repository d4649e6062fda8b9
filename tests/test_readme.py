"""The README and docs/ describe the code as it is.

- The README stays a five-minute read (at most ``README_MAX_LINES`` lines).
- Every ``lib/...``, ``ui/...`` and ``pages/...`` path and every dotted ``lib.x.y`` /
  ``ui.x.y`` name in README.md, docs/*.md and benchmarks/README.md exists: a file or
  folder, or a module (and attribute) that imports.
- Every file and folder in the module maps (the untagged code blocks) exists, folders
  nested by indentation.
- Every relative link and image in them points at a file that exists.
- The README's two commands are the ones users run, and its test command is the
  one ``.ci/run`` runs.
- The README's Python example runs and prints the formulas its comments show.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS, ROOT / "benchmarks" / "README.md"]
README_MAX_LINES = 220

RUN_COMMAND = "python -m pip install -e . && streamlit run app.py"
TEST_COMMAND = 'python -m pip install -e ".[test]" && python -m pytest'

# A path starts at a word boundary that is not part of a longer path or name.
PATH = re.compile(r"(?<![\w./-])(?:lib|ui|pages)/[\w./*-]*")
# lib.x or ui.x, not preceded by a path or name character; trailing "." is punctuation.
DOTTED = re.compile(r"(?<![\w./-])(?:lib|ui)(?:\.[A-Za-z_]\w*)+")
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A module-map entry: names ending in ".py" or "/", comma-separated, before the description.
MAP_ITEM = re.compile(r"[\w.-]+(?:/[\w.-]+)*(?:/|\.py)")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _mentions(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(page name, mention) pairs, each distinct mention once per page."""
    found = []
    for page in PAGES:
        for mention in dict.fromkeys(m.group(0).rstrip(".") for m in pattern.finditer(_text(page))):
            found.append((page.relative_to(ROOT).as_posix(), mention))
    return found


@cache
def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` is a module, or a module followed by attributes, that exists."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def _map_blocks(page: Path) -> list[list[str]]:
    """The lines of each code block without a language tag (the module maps)."""
    blocks, current = [], None
    for line in _text(page).splitlines():
        if line.startswith("```"):
            if current is None:
                current = [] if line == "```" else "tagged"
            else:
                if current != "tagged":
                    blocks.append(current)
                current = None
        elif isinstance(current, list):
            current.append(line)
    return blocks


def _map_entries() -> list[tuple[str, str]]:
    """(page name, path) for every entry of every module map, resolved by indentation."""
    found = []
    for page in PAGES:
        for block in _map_blocks(page):
            stack: list[tuple[int, str]] = []  # (indent, folder)
            for line in block:
                indent = len(line) - len(line.lstrip(" "))
                head = line.strip().split("  ", 1)[0]
                items = [item.strip() for item in head.split(",")]
                if not head or not all(MAP_ITEM.fullmatch(item) for item in items):
                    continue  # a description or its continuation
                while stack and stack[-1][0] >= indent:
                    stack.pop()
                parent = stack[-1][1] if stack else ""
                for item in items:
                    found.append((page.relative_to(ROOT).as_posix(), parent + item))
                if len(items) == 1 and items[0].endswith("/"):
                    stack.append((indent, parent + items[0]))
    return found


def test_readme_is_a_five_minute_read():
    lines = _text(README).splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_the_pattern_finds_what_the_pages_mention():
    # Guards the checks below against a pattern that silently matches nothing.
    paths = {m for _, m in _mentions(PATH)}
    names = {m for _, m in _mentions(DOTTED)}
    assert {"lib/lmm/", "lib/cli.py", "ui/views/"} <= paths
    assert {"lib.lmm", "lib.model.spec"} <= names
    assert not _resolves("lib.lmm.no_such_name")
    assert not (ROOT / "lib/data.py").exists()
    entries = {m for _, m in _map_entries()}
    assert {"lib/table/", "lib/lmm/objective.py", "ui/views/model.py", "app.py"} <= entries


@pytest.mark.parametrize(("page", "path"), _map_entries())
def test_every_module_map_entry_exists(page, path):
    assert (ROOT / path).exists(), f"{page}: module map lists {path}, which does not exist"


@pytest.mark.parametrize(("page", "path"), _mentions(PATH))
def test_every_path_exists(page, path):
    if "*" in path:
        assert list(ROOT.glob(path)), f"{page}: nothing matches {path}"
    else:
        assert (ROOT / path).exists(), f"{page}: {path} does not exist"


@pytest.mark.parametrize(("page", "name"), _mentions(DOTTED))
def test_every_dotted_name_exists(page, name):
    assert _resolves(name), f"{page}: {name} is not an importable module or attribute"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_point_at_files(page):
    for target in LINK.findall(_text(page)):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = target.split("#", 1)[0]
        assert (page.parent / file).exists(), f"{page.name}: link to {target} is broken"


def test_readme_gives_the_two_commands():
    text = _text(README)
    assert f"```bash\n{RUN_COMMAND}\n```" in text
    assert f"```bash\n{TEST_COMMAND}\n```" in text


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if "python -m pytest" in line]
    assert len(commands) == 1, commands
    # .ci/run only quietens pip's output; the command is otherwise the README's.
    assert commands[0].replace(" -q ", " ") == TEST_COMMAND


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", _text(page), flags=re.DOTALL)


def test_readme_python_example_runs(monkeypatch, capsys):
    (code,) = _python_blocks(README)
    monkeypatch.chdir(ROOT)  # the example reads data/*.csv relative to the checkout
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the repository's own text
    out = capsys.readouterr().out
    expected = re.findall(r"print\(.*\.formula\)\s+# (.+)", code)
    assert len(expected) == 2
    for formula in expected:
        assert formula.strip() in out.splitlines()
