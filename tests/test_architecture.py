"""Architecture rules of python/hyperbeam_fast (docs/architecture.md), checked with ``ast`` only.

1. No import cycle between the package's modules. Every import counts, the ones inside functions
   too (a lazy import that closes a circle is still a circle); only imports under
   ``if TYPE_CHECKING:`` are left out. ``from P import n`` is an edge to module ``P.n`` when that
   is a module, else to ``P``; importing ``P.Q`` is not counted as importing ``P`` too.
2. No private name (``_x``) of another package module is imported (``from .m import _x``) or read
   as an attribute (``m._x`` where ``m`` is a package module). ``_native`` (the extension module)
   is a module name, allowed; dunders (``__version__``) are not private.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PKG = "hyperbeam_fast"
ROOT = Path(__file__).resolve().parent.parent / "python" / PKG


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    for path in ROOT.glob("_native*"):  # the extension module (built, or only its stub)
        out[f"{PKG}._native"] = path
    out.setdefault(f"{PKG}._native", ROOT / "_native.pyi")
    return out


MODULES = _modules()


def _is_package(mod: str) -> bool:
    return MODULES.get(mod, Path()).name == "__init__.py"


def _shadowing(pkg: str) -> set[str]:
    """Names a package's ``__init__`` binds to something other than its submodule of the same
    name (``ao`` binds ``resolve`` and ``keys`` to functions): ``from pkg import resolve`` reads
    that attribute, so it is an edge to ``pkg``, not to ``pkg.resolve``."""
    path = MODULES.get(pkg)
    if path is None or path.name != "__init__.py":
        return set()
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            src = _absolute(pkg, node.level, node.module)
            for a in node.names:
                if f"{src}.{a.name}" not in MODULES:
                    out.add(a.asname or a.name)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
    return out


def _absolute(mod: str, level: int, name: str | None) -> str:
    """The absolute module named by ``from <level dots><name> import ...`` inside ``mod``."""
    if level == 0:
        return name or ""
    base = mod.split(".")
    if not _is_package(mod):
        base = base[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join(base + ([name] if name else []))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(tree: ast.AST):
    """Every node, skipping the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


class _Module:
    """One module's imports: edges to package modules, private names taken from them."""

    def __init__(self, mod: str, path: Path) -> None:
        self.mod = mod
        self.edges: set[str] = set()
        self.private: list[str] = []
        if path.suffix != ".py":
            return
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}  # local name -> package module it is bound to
        nodes = list(_walk(tree))
        for node in nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == PKG or a.name.startswith(PKG + "."):
                        self._edge(a.name)
                        if a.asname:
                            aliases[a.asname] = a.name
                        else:
                            aliases[a.name.split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                src = _absolute(mod, node.level, node.module)
                if src != PKG and not src.startswith(PKG + "."):
                    continue
                shadowed = _shadowing(src)
                for a in node.names:
                    sub = f"{src}.{a.name}"
                    if sub in MODULES and a.name not in shadowed:
                        self._edge(sub)
                        aliases[a.asname or a.name] = sub
                    else:
                        self._edge(src)
                        if _private(a.name) and src != mod:
                            self.private.append(f"line {node.lineno}: from {src} import {a.name}")
        for node in nodes:
            if isinstance(node, ast.Attribute) and _private(node.attr):
                target = _dotted(node.value, aliases)
                if target is not None and target != mod and f"{target}.{node.attr}" not in MODULES:
                    self.private.append(f"line {node.lineno}: {target}.{node.attr}")

    def _edge(self, target: str) -> None:
        while target not in MODULES and "." in target:
            target = target.rsplit(".", 1)[0]
        if target in MODULES and target != self.mod:
            self.edges.add(target)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The package module an expression like ``ao`` or ``hyperbeam_fast.devices.message`` names."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value, aliases)
        if inner is not None and f"{inner}.{node.attr}" in MODULES:
            return f"{inner}.{node.attr}"
    return None


def graph() -> dict[str, _Module]:
    return {mod: _Module(mod, path) for mod, path in MODULES.items()}


def cycles(g: dict[str, _Module]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v].edges):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(g) + 100))
    try:
        for v in sorted(g):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return out


def _describe(g: dict[str, _Module], comp: list[str]) -> str:
    inside = set(comp)
    lines = [f"cycle of {len(comp)} modules:"]
    for m in comp:
        lines.append(f"  {m} -> {', '.join(sorted(g[m].edges & inside))}")
    return "\n".join(lines)


def test_the_package_is_found():
    assert f"{PKG}.ao" in MODULES and len(MODULES) > 30


def test_no_import_cycles():
    g = graph()
    found = cycles(g)
    assert not found, "\n".join(_describe(g, c) for c in found)


def test_no_private_names_across_modules():
    bad = [f"{m.mod}: {p}" for m in graph().values() for p in m.private]
    assert not bad, "private names used across modules:\n" + "\n".join(bad)


def test_the_checker_sees_what_it_must(tmp_path):
    """The rules catch a function-level cycle, a private import and a private attribute, and
    leave out imports under ``if TYPE_CHECKING:``."""
    src = {
        "zz_a": "from . import zz_b\n",
        "zz_b": "def f():\n    from .zz_a import _x\n    from . import zz_c\n    return zz_c._y\n",
        "zz_c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import zz_a\n",
    }
    names = {n: f"{PKG}.{n}" for n in src}
    saved = dict(MODULES)
    try:
        for n, text in src.items():
            (tmp_path / f"{n}.py").write_text(text)
            MODULES[names[n]] = tmp_path / f"{n}.py"
        g = {names[n]: _Module(names[n], tmp_path / f"{n}.py") for n in src}
        assert g[names["zz_a"]].edges == {names["zz_b"]}
        assert g[names["zz_b"]].edges == {names["zz_a"], names["zz_c"]}
        assert g[names["zz_c"]].edges == set()
        assert len(g[names["zz_b"]].private) == 2 and not g[names["zz_a"]].private
        assert cycles(g) == [[names["zz_a"], names["zz_b"]]]
    finally:
        MODULES.clear()
        MODULES.update(saved)


if __name__ == "__main__":  # python tests/test_architecture.py: print the cycles and private uses
    g = graph()
    for c in cycles(g):
        print(_describe(g, c))
    for m in g.values():
        for p in m.private:
            print(f"private: {m.mod}: {p}")
