"""The import graph of ``lib`` and ``ui``: no circles, no upward imports, no Streamlit in lib.

The graph is read from the source with ``ast`` (nothing is imported), counting every
import statement wherever it stands: a function-local import that dodges a circle at load
time is still a circle in the design. ``from pkg import name`` is an edge to ``pkg.name``
when that is a module, else to ``pkg`` (its ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lib", "ui")

# The layers, lowest first. A module may import modules of its own layer or below, never
# above. The first prefix that matches a module's name gives its layer (longest prefixes
# are listed before the package that holds them).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("lib.errors",),
    ("lib.table.columns", "lib.table.read", "lib.table.export"),
    ("lib.model.spec",),
    ("lib.table",),  # roles, catalogue, validate and the package
    ("lib.model",),  # levels, nesting, design and the package
    ("lib.ols", "lib.explore", "lib.lmm", "lib.glmm", "lib.aggregate"),
    ("lib.present",),
    ("lib.classroom",),
    # Charts draw the classroom's results too (lib.charts.pooling draws
    # lib.classroom.pooling's shrinkage), so they sit above it; nothing below draws.
    ("lib.charts",),
    ("lib.cli", "lib.__main__", "lib"),
    ("ui",),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement loads (targets of ``from`` kept whole)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".")
        if not is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    return [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges between lib/ui modules, every top-level package each module imports)."""
    modules = _modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    external: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets = _imported(node, name, is_package)
            for target in targets:
                external[name].add(target.split(".")[0])
            if isinstance(node, ast.Import):
                found = [t for t in targets if t in modules]
            else:
                prefix, names = targets[0], targets[1:]
                submodules = [t for t in names if t in modules]
                # Names that are not modules come from the prefix itself.
                found = submodules + ([prefix] if len(submodules) < len(names) else [])
                found = [t for t in found if t in modules]
            edges[name].update(t for t in found if t != name)
    return edges, external


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first repeated at the end), or None."""
    colour = dict.fromkeys(edges, 0)  # 0 unseen, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if colour[nxt] == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if colour[nxt] == 0:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(edges):
        if colour[node] == 0:
            found = visit(node)
            if found:
                return found
    return None


def layer(module: str) -> int:
    """The index in ``LAYERS`` of the most specific prefix that names ``module``."""
    best, best_len = None, -1
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = rank, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def test_the_graph_sees_imports_of_every_kind():
    """The reader finds module-level, function-local and ``from pkg import module`` edges."""
    edges, external = import_graph()
    assert "lib.errors" in edges["lib.table.read"]
    assert "lib.lmm" in edges["ui.cache"]  # from lib.lmm import LmmFit: the package
    assert "lib.lmm.anova" in edges["lib.serve.jobs"]  # from lib.lmm import anova: a module
    assert "streamlit" in external["ui.render"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circles():
    edges, _ = import_graph()
    assert find_cycle(edges) is None


def test_lib_never_imports_ui_or_streamlit():
    _, external = import_graph()
    offenders = {
        name: sorted(found & {"ui", "streamlit"})
        for name, found in external.items()
        if name.split(".")[0] == "lib" and found & {"ui", "streamlit"}
    }
    assert offenders == {}


def test_nothing_imports_upward():
    edges, _ = import_graph()
    upward = sorted(
        (name, target)
        for name, targets in edges.items()
        for target in targets
        if layer(target) > layer(name)
    )
    assert upward == []


def test_every_module_has_a_layer():
    edges, _ = import_graph()
    assert all(isinstance(layer(name), int) for name in edges)
    assert layer("lib.table.columns") < layer("lib.model.spec") < layer("lib.table.roles")
    assert layer("lib.model.design") < layer("lib.lmm.fit") < layer("lib.present.summary")
    assert layer("lib.present.numbers") < layer("lib.classroom.lesson") < layer("lib.charts.ranef")
    assert layer("lib.charts.ranef") < layer("lib.cli") < layer("ui.render")
