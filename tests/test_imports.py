"""The shape of the package: no import cycles among wahaweb's modules, no file over 400 lines.

The import graph is read with `ast`, not by importing: an edge is a module-level import
(in a module's body, its classes, and its top-level `if`/`try`/`with` blocks). Imports
inside functions, and under `if TYPE_CHECKING:`, run later or never, so they break no
import and don't count. `from pkg import name` points at `pkg.name` when that is a module,
else at `pkg`; importing a module is not counted as importing its parent packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "wahaweb"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported (not in functions, not under TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _module_level_imports(node.body)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    found = set()
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        found.add(candidate if candidate in known else base)
    return found


def import_graph(*, everywhere: bool = False) -> dict[str, set[str]]:
    """wahaweb module -> the wahaweb modules it imports at module level (`everywhere`: in any
    import it holds, functions and TYPE_CHECKING blocks included: for the layer rules)."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        nodes = (n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))) if everywhere \
            else _module_level_imports(tree.body)
        edges: set[str] = set()
        for node in nodes:
            edges |= {t for t in _targets(node, name, path.name == "__init__.py", known)
                      if (t in known if not everywhere else _in(t, "wahaweb"))}
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) for each strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest cycle through the group's first module (breadth-first inside the group)."""
    start = min(group)
    paths = {start: [start]}
    todo = [start]
    while todo:
        node = todo.pop(0)
        for nxt in sorted(graph[node] & group):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                todo.append(nxt)
    return sorted(group)  # unreachable: a strongly connected group has a cycle through each member


def test_graph_sees_the_package():
    graph = import_graph()
    assert "wahaweb.core.container" in graph
    assert "wahaweb.core.models" in graph["wahaweb.core.container"]


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among wahaweb modules (module-level imports):\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles)


def test_no_file_over_400_lines():
    """Code files (translation catalogues are data: one entry per UI string)."""
    too_long = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".po", ".mo"):
            continue
        with path.open("rb") as f:
            lines = sum(1 for _ in f)
        if lines > MAX_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {lines} lines")
    assert not too_long, f"files in wahaweb/ over {MAX_LINES} lines:\n" + "\n".join(too_long)


def _in(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


#: The architecture's arrows (README, docs/ARCHITECTURE.md): a layer may import only what is listed.
REFLEX_LAYER = ("wahaweb.state", "wahaweb.pages", "wahaweb.components", "wahaweb.templates")
FORBIDDEN = {
    "wahaweb.waha": ("wahaweb.core", "wahaweb.simulator", "wahaweb.api", *REFLEX_LAYER),
    "wahaweb.simulator": ("wahaweb.core", "wahaweb.waha", "wahaweb.api", "wahaweb.settings", *REFLEX_LAYER),
    "wahaweb.core": ("wahaweb.simulator", "wahaweb.api", "wahaweb.composition", "wahaweb.serving", *REFLEX_LAYER),
    "wahaweb.web": ("wahaweb.core", "wahaweb.api", *REFLEX_LAYER),
    **{layer: ("wahaweb.api",) for layer in REFLEX_LAYER},
}


def test_layers_point_one_way():
    """The HTTP routes and the pages share `wahaweb.web`, never each other; core knows neither."""
    wrong = sorted(f"{module} imports {target}" for module, targets in import_graph(everywhere=True).items()
                   for layer, banned in FORBIDDEN.items() if _in(module, layer)
                   for target in targets if _in(target, *banned))
    assert not wrong, "imports against the architecture's arrows:\n" + "\n".join(wrong)


def test_the_layer_check_sees_a_wrong_arrow():
    graph = import_graph(everywhere=True)
    assert "wahaweb.web.cookies" in graph["wahaweb.state.auth"]
    assert any(_in(t, "wahaweb.core") for t in graph["wahaweb.state.dashboard"])
