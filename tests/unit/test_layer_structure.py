"""The layer's shape, read from its imports: what each part may import, and no cycles.

Every ``import`` counts, also one inside a function (a lazy import is still a dependency);
only those under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "layers" / "streaming" / "python" / "lambda_streaming"
# What the managed Python runtime provides besides the standard library (SnapStart's hooks).
RUNTIME_PROVIDED = {"snapshot_restore_py"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imported(node: ast.AST, importer: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the importer's package
            package = importer.rsplit(".", node.level)[0]
            base = f"{package}.{base}" if base else package
        # ``from package import module`` names a module; ``from module import name`` does not
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return []


def imports(name: str, typing_too: bool = False) -> set[str]:
    """Every module ``name`` imports when it runs, wherever in the file; ``typing_too``: and
    those only type checkers import."""
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(MODULES[name].read_text())]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node) and not typing_too:
            pending.extend(node.orelse)
            continue
        found.update(_imported(node, name))
        pending.extend(ast.iter_child_nodes(node))
    return found


def layer_imports(name: str, typing_too: bool = False) -> set[str]:
    return {t for t in imports(name, typing_too) if t.startswith("lambda_streaming")}


def test_the_runtime_imports_nothing_of_its_siblings() -> None:
    """runtime/ moves bytes between the Runtime API and a handler: no HTTP, no adapter."""
    runtime = [name for name in MODULES if name.startswith("lambda_streaming.runtime")]
    assert len(runtime) > 10
    for name in runtime:
        outside = {t for t in layer_imports(name) if not t.startswith("lambda_streaming.runtime")}
        assert outside <= {"lambda_streaming"}, f"{name} imports {outside}"


def test_the_fronts_know_no_adapter() -> None:
    for name in MODULES:
        if name.startswith("lambda_streaming.http"):
            adapters = {t for t in layer_imports(name) if t.split(".")[1] in ("asgi", "wsgi")}
            assert not adapters, f"{name} imports {adapters}"


def test_no_import_cycle() -> None:
    """None at run time, nor through the names only type checkers import."""
    graph = {name: layer_imports(name, typing_too=True) & set(MODULES) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph[name]):
            if target != name and not name.startswith(target + "."):  # a package's own parent
                visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_standard_library_only() -> None:
    allowed = set(sys.stdlib_module_names) | RUNTIME_PROVIDED | {"lambda_streaming"}
    for name in MODULES:
        foreign = {t for t in imports(name) if t.split(".")[0] not in allowed}
        assert not foreign, f"{name} imports {foreign}"


def test_the_layer_holds_no_application_code() -> None:
    """Only the runtime, the fronts and the adapters: the demo's content is the app's own."""
    subpackages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert subpackages <= {"runtime", "http", "asgi", "wsgi"}, subpackages
    assert {"runtime", "http", "asgi"} <= subpackages


def test_the_checker_sees_what_it_must() -> None:
    """The helpers above find a lazy import and skip a TYPE_CHECKING one."""
    loop = imports("lambda_streaming.runtime.loop")
    assert "lambda_streaming.runtime.chunked" in loop  # imported inside a function
    assert "lambda_streaming.runtime.interfaces" not in loop  # type-checking only
    assert "lambda_streaming.http.front" in imports("lambda_streaming.asgi.handler")
