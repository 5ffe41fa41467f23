"""Figures of the package's structure: modules, import cycles, core->CLI imports, packages that import
each other, private names imported across modules, the longest file and class.

    python scripts/arch_stats.py [PACKAGE_DIR]      # default: nlpkit/ beside this script

Imports are read from the source (ast), at module level and inside functions alike, so a
lazy import counts: it still ties the two modules together. The same walk backs
tests/test_architecture.py.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

CLI_PACKAGE = "nlpkit.cli"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, is_package: bool) -> set[str]:
    """Every nlpkit module (or package) `path` imports, resolved to a dotted name."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m == "nlpkit" or m.startswith("nlpkit.") or m == "click" or m.startswith("click.")}


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the nlpkit modules it imports (names that are not modules are folded to theirs)."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for imported in imports_of(path, name, path.name == "__init__.py"):
            if imported.startswith("click"):
                targets.add("click")
                continue
            while imported and imported not in files:  # `from nlpkit.io import Record` -> nlpkit.io
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def is_cli(name: str) -> bool:
    return name == CLI_PACKAGE or name.startswith(CLI_PACKAGE + ".")


def core_to_cli(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(core module, CLI module or click) pairs: the core must not reach up into the CLI."""
    return sorted(
        (name, target)
        for name, targets in graph.items()
        if not is_cli(name) and name != "nlpkit.__main__"
        for target in targets
        if is_cli(target) or target == "click"
    )


def package_of(name: str) -> str:
    """The first-level unit of nlpkit a module belongs to: nlpkit.models.rnn -> nlpkit.models; nlpkit.io -> itself."""
    return ".".join(name.split(".")[:2])


def package_cycles(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of first-level packages that import each other (each pair once, sorted)."""
    edges = {(package_of(a), package_of(b)) for a, targets in graph.items() for b in targets
             if b != "click" and package_of(a) != package_of(b)}
    return sorted((a, b) for a, b in edges if a < b and (b, a) in edges)


def private_imports(root: Path) -> list[str]:
    """``module -> other.module._name``: a private name taken across modules (`from x import _y`)."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    found = []
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__") and node.module != name:
                        found.append(f"{name} -> {node.module}.{alias.name}")
    return sorted(found)


def longest(root: Path) -> dict:
    files = sorted(root.rglob("*.py"))
    lines = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in files}
    longest_file = max(lines, key=lines.get)
    best = ("", "", 0)
    for p in files:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                if size > best[2]:
                    best = (str(p.relative_to(root.parent)), node.name, size)
    return {
        "longest_file": [str(longest_file.relative_to(root.parent)), lines[longest_file]],
        "longest_class": list(best),
    }


def stats(root: Path) -> dict:
    graph = import_graph(root)
    return {
        "modules": len(graph),
        "lines": sum(len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*.py")),
        "import_cycles": cycles(graph),
        "core_to_cli_imports": [f"{a} -> {b}" for a, b in core_to_cli(graph)],
        "package_two_way_imports": [f"{a} <-> {b}" for a, b in package_cycles(graph)],
        "private_imports": private_imports(root),
        **longest(root),
    }


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "nlpkit"
    print(json.dumps(stats(root), indent=2))
