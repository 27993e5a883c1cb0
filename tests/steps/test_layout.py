"""The layout keeps its promises: flows hold entry points only (no @task), modules of
tasks/ and flows/ stay under 500 lines, and no two modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("engage_voice", "tasks", "flows")
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of this repo imported at module level (TYPE_CHECKING blocks excluded)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                out.add(candidate if candidate in known else base)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def test_no_import_cycle():
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    # A package importing its own submodules (re-exports) is not a cycle of concepts.
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_modules_stay_small():
    big = {
        str(path.relative_to(REPO)): n
        for name, path in _modules().items()
        if name.split(".")[0] in ("tasks", "flows")
        and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not big, big


def test_flows_hold_no_tasks():
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "flows").rglob("*.py")
        if "@task" in path.read_text()
    ]
    assert not offenders, offenders


def _decorated_with(node: ast.FunctionDef, name: str) -> bool:
    return any(
        (d.func if isinstance(d, ast.Call) else d).__dict__.get("id") == name
        for d in node.decorator_list
    )


def test_every_flow_body_is_one_call_into_tasks():
    """A flow is its decorator, parameters, docstring and one `return <call>`: the work lives
    in tasks/, where it is tested without the engine."""
    offenders, flows = [], 0
    for path in sorted((REPO / "flows").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.FunctionDef) and _decorated_with(node, "flow")):
                continue
            flows += 1
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            one_call = (
                len(body) == 1
                and isinstance(body[0], ast.Return)
                and isinstance(body[0].value, ast.Call)
            )
            if not one_call:
                offenders.append(f"{path.relative_to(REPO)}:{node.name}")
    assert flows >= 9  # every entry point, child flows included
    assert not offenders, offenders
