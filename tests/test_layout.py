"""The house's shape, read from the code itself (ast): core/ imports no UI and holds no circle; rooms stay small.

Every ``import`` counts, at the top of a module or inside a function (a lazy import still ties two rooms), except
those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
MAX_CORE_LINES = 600  # data literals aside
MAX_PAGE_LINES = 250


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def core_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(path: Path) -> list[tuple[str, int]]:
    """(dotted name, line) of everything ``path`` imports: ``from a.b import c`` gives both ``a.b`` and ``a.b.c``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, node.lineno))
            found.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """core module -> the core modules it imports (a package's ``__init__`` counts when a module under it is used)."""
    modules = core_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _ in imported_names(path):
            parts = target.split(".")
            # importing core.a.b runs core/__init__, core/a/__init__ and core/a/b: each prefix that is a module
            for i in range(2, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in modules and prefix != name and not name.startswith(prefix + "."):
                    graph[name].add(prefix)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
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

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_circle_finder_finds_a_circle_and_passes_a_line():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_core_has_no_import_circle():
    assert circles(import_graph()) == []


def test_imports_are_read_from_functions_and_relative_forms_but_not_type_checking(tmp_path, monkeypatch):
    pkg = tmp_path / "core" / "pkg"
    pkg.mkdir(parents=True)
    (tmp_path / "core" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.z import Z\n"
        "def f():\n    from .b import g\n    import core.c\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    names = {name for name, _ in imported_names(pkg / "a.py")}
    assert {"core.pkg.b", "core.pkg.b.g", "core.c"} <= names
    assert "core.z" not in names


def test_core_never_imports_the_ui():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in core_modules().values()
        for name, line in imported_names(path)
        if name.split(".")[0] in {"streamlit", "pages", "app", "serve"}
    ]
    assert offenders == []


def code_lines(path: Path) -> int:
    """Lines of ``path`` less those of module-level constants written as literals (data, not code)."""
    source = path.read_text(encoding="utf-8")
    data = 0
    for node in ast.parse(source).body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        literal = value is not None and isinstance(value, ast.Dict | ast.List | ast.Tuple | ast.Set | ast.Call)
        if literal and all(
            isinstance(n, ast.Constant | ast.Dict | ast.List | ast.Tuple | ast.Set) or _is_literal_call(n)
            for n in _elements(value)
        ):
            data += node.end_lineno - node.lineno + 1
    return len(source.splitlines()) - data


def _elements(value: ast.AST) -> list[ast.AST]:
    if isinstance(value, ast.Dict):
        return [v for v in [*value.keys, *value.values] if v is not None]
    if isinstance(value, ast.List | ast.Tuple | ast.Set):
        return list(value.elts)
    if _is_literal_call(value):
        return [*value.args, *(k.value for k in value.keywords)]
    return [value]


def _is_literal_call(node: ast.AST) -> bool:
    """``frozenset({...})``, ``dict(a=1)`` and the like: a literal under a constructor's name."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"frozenset", "set", "dict", "tuple", "list"}
    )


def test_code_lines_leave_out_literal_data(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('X = {\n    "a": 1,\n    "b": (2, 3),\n}\nY = f(1)\n\n\ndef g():\n    return 1\n')
    assert code_lines(f) == 9 - 4


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_core_module_is_a_house_of_its_own(path):
    assert code_lines(path) <= MAX_CORE_LINES, f"{path.relative_to(ROOT)}: split it by idea"


@pytest.mark.parametrize("path", sorted((ROOT / "pages").glob("*.py")), ids=lambda p: p.name)
def test_every_page_is_short(path):
    assert code_lines(path) <= MAX_PAGE_LINES, f"pages/{path.name}: move what is not UI into core"
