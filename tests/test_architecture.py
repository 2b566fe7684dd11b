"""The package's layers, read from the source with `ast`: imports go one way, down the layers;
no import cycles (imports inside functions count too); no module reaches into another
module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kds_sim"

LAYERS = ("model", "io", "analysis", "report", "cli")
"""Bottom to top: a layer may import those before it, never those after. `app` sits beside
`cli` (it may import every layer below `cli`); `messages`, `errors` and `_version` sit below all;
`__main__` (python -m kds_sim) sits on top."""
RANK = {
    "_version": -1,
    "errors": -1,
    "messages": -1,
    **{name: i for i, name in enumerate(LAYERS)},
    "app": len(LAYERS) - 1,
    "__main__": len(LAYERS),  # `python -m kds_sim`: the command line, above every layer
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {
        module_name(p): ast.parse(p.read_text(encoding="utf-8"), str(p))
        for p in sorted(PACKAGE.rglob("*.py"))
    }


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(tree: ast.Module, name: str) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in the module, at any depth, except those only for
    type checkers (they never run)."""
    skip = {
        id(n) for block in ast.walk(tree) if _type_checking_block(block) for n in ast.walk(block)
    }
    package = (
        name
        if (PACKAGE / Path(*name.split(".")[1:]) / "__init__.py").exists()
        else name.rpartition(".")[0]
    )
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([base] if base else [])
                )
            found.append((base, [alias.name for alias in node.names]))
    return found


def internal_edges() -> dict[str, set[str]]:
    """Module -> kds_sim modules it imports (a `from pkg import mod` counts as pkg.mod)."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, tree in mods.items():
        for target, names in imports(tree, name):
            if not target.startswith("kds_sim"):
                continue
            for item in names or [""]:
                full = f"{target}.{item}" if item and f"{target}.{item}" in mods else target
                if full != name and full in mods:
                    edges[name].add(full)
    return edges


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_import_cycles():
    edges = internal_edges()
    # the package root only re-exports lazily; it is where users enter, not a layer
    edges = {m: {t for t in ts if t != "kds_sim"} for m, ts in edges.items() if m != "kds_sim"}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    """Imports that go up the layers (the package root only from the top layers)."""
    wrong = []
    for module, targets in edges.items():
        if module == "kds_sim":
            continue
        for target in targets:
            if target == "kds_sim":  # the public API re-exports every layer: top layers only
                if layer(module) not in ("cli", "app"):
                    wrong.append(f"{module} imports the package root")
                continue
            a, b = layer(module), layer(target)
            if a != b and RANK.get(b, 99) > RANK.get(a, -1):
                wrong.append(f"{module} ({a}) imports {target} ({b}), a higher layer")
    return wrong


def test_imports_go_down_the_layers():
    wrong = upward_imports(internal_edges())
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_another_modules_private_names():
    wrong = []
    for name, tree in modules().items():
        for target, names in imports(tree, name):
            if not target.startswith("kds_sim") or target == name:
                continue
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if target.endswith("._version"):
                private = []
            wrong += [f"{name} imports {target}.{n}" for n in private]
            if any(
                part.startswith("_") and part not in ("_version",) for part in target.split(".")[1:]
            ):
                wrong.append(f"{name} imports private module {target}")
    assert not wrong, "\n".join(wrong)


def test_the_layer_test_can_fail():
    """An upward import planted into the real import graph, inside a function, is caught."""
    planted = ast.parse("def f():\n    from kds_sim.analysis import runner\n")
    assert imports(planted, "kds_sim.model.rules") == [("kds_sim.analysis", ["runner"])]
    edges = internal_edges()
    assert not upward_imports(edges)
    edges["kds_sim.model.rules"] = edges["kds_sim.model.rules"] | {"kds_sim.analysis.runner"}
    assert upward_imports(edges) == [
        "kds_sim.model.rules (model) imports kds_sim.analysis.runner (analysis), a higher layer"
    ]


def test_version_comes_from_the_package_metadata():
    import kds_sim
    from kds_sim._version import __version__

    assert kds_sim.__version__ == __version__ != "0+unknown"
    source = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    assert "noqa: E402" not in source
