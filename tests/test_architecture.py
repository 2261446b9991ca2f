"""Core knows no shop, no provider and no receiver: it reaches them only through hooks."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


OUTSIDE = {"plugins", "webhooks", "backoffice", "testkit"}  # what core never imports


def test_core_imports_no_plugin_and_no_receiver():
    offenders = {
        str(path.relative_to(CORE)): sorted(name for name in imports_of(path)
                                            if name.split(".")[0] in OUTSIDE)
        for path in core_modules()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_entry_point_knows_the_local_provider():
    provider = CORE / "local_provider"
    offenders = [
        str(path.relative_to(CORE)) for path in core_modules()
        if provider not in path.parents
        and any(name.startswith("core.local_provider") for name in imports_of(path))
    ]
    assert offenders == []


def test_built_in_plugins_are_declared_in_setup_cfg():
    setup_cfg = (CORE.parent / "setup.cfg").read_text(encoding="utf-8")
    assert "invoicekit =\n    local = core.local_provider.plugin" in setup_cfg


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Which core modules each core module imports, anywhere in it (late imports inside
    functions and typing-only imports count too: they hide a circle, they do not break it)."""
    names = {_module_name(path) for path in core_modules()}
    graph: dict[str, set[str]] = {}
    for path in core_modules():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps |= {node.module} & names
                deps |= {f"{node.module}.{alias.name}" for alias in node.names} & names
            elif isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names} & names
        graph[_module_name(path)] = deps - {_module_name(path)}
    return graph


def test_no_import_circles_in_core():
    graph = _import_graph()
    circles = []
    for start in graph:  # a path from a module's imports back to itself is a circle
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module == start:
                circles.append(start)
                break
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
    assert circles == []


def test_modules_fit_on_a_few_screens():
    """No module of the kit is past 600 lines: a longer one is split by what it holds."""
    top = CORE.parent
    long = {str(path.relative_to(top)): n for folder in ("core", "plugins", "webhooks",
                                                         "backoffice", "testkit")
            for path in (top / folder).rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}
