"""The Rust crates' module graphs are DAGs (issue 18; docs/architecture.md, Rust section).

Reads the sources only (no Rust toolchain needed): each file is a module (`x.rs` or `x/mod.rs`,
declared by `mod x;`), and a module depends on another when it names it by a `crate::` path
(`use crate::sf::{...}`, `crate::ids::sha256(...)`, `use crate::{Msg, Value}` through the root's
re-exports) or, inside a directory module, a sibling by a `super::` path. Inline modules
(`mod tests { ... }`, rustfmt-formatted) count as their file's module, with `super::` resolved
from inside them. Two checks: no cycle among the crate's top-level modules, and none among the
children of any directory module.
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CRATES = {
    "hyperbeam-core": ROOT / "rust" / "hyperbeam-core" / "src",
    "hyperbeam-py": ROOT / "rust" / "hyperbeam-py" / "src",
}

_COMMENT = re.compile(r"(^|\s)//.*$", re.M)
_MOD_DECL = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M)
_INLINE_MOD = re.compile(r"^( *)(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*\{\s*$")
_ROOT_USE = re.compile(r"^\s*pub\s+use\s+([a-z_][a-z0-9_]*)::(\{[^}]*\}|[A-Za-z_0-9]+)\s*;", re.M)
_PATH = re.compile(r"\b(crate|super)((?:::super)*)::(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")


def _strip_comments(text: str) -> str:
    return _COMMENT.sub(r"\1", text)


def _module_files(src: Path) -> dict[tuple[str, ...], Path]:
    """Module path (() for the crate root) -> its file, following `mod x;` declarations."""
    files: dict[tuple[str, ...], Path] = {}

    def visit(path: tuple[str, ...], file: Path) -> None:
        files[path] = file
        base = file.parent if file.name in ("lib.rs", "mod.rs") else file.with_suffix("")
        for name in _MOD_DECL.findall(_strip_comments(file.read_text())):
            flat, nested = base / f"{name}.rs", base / name / "mod.rs"
            child = flat if flat.exists() else nested
            assert child.exists(), f"{file}: `mod {name};` has no file"
            visit((*path, name), child)

    visit((), src / "lib.rs")
    return files


def _lines_with_module(path: tuple[str, ...], text: str):
    """Each line with the module path it is written in (inline `mod x {` blocks nest)."""
    stack: list[tuple[str, str]] = []  # (indent, name) of the open inline modules
    for line in text.splitlines():
        if stack and line == stack[-1][0] + "}":
            stack.pop()
            continue
        yield (*path, *(name for _, name in stack)), line
        m = _INLINE_MOD.match(line)
        if m:
            stack.append((m.group(1), m.group(2)))


def module_graph(src: Path) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    """Module -> the modules it names (file modules only; the root's re-exports resolved)."""
    files = _module_files(src)
    modules = set(files)
    root_text = _strip_comments(files[()].read_text())
    reexport: dict[str, str] = {}  # a name the root re-exports -> the top-level module it is from
    for mod, names in _ROOT_USE.findall(root_text):
        for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", names):
            reexport[n] = mod

    def target(base: tuple[str, ...], name: str) -> tuple[str, ...] | None:
        if (*base, name) in modules:
            return (*base, name)
        if base == () and name in reexport:
            return (reexport[name],)
        return base if base in modules else None

    graph: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    for path, file in files.items():
        graph[path]  # every module is a node
        for where, line in _lines_with_module(path, _strip_comments(file.read_text())):
            for kind, supers, first in _PATH.findall(line):
                if kind == "crate":
                    base: tuple[str, ...] = ()
                else:
                    up = 1 + supers.count("super")
                    base = where[: len(where) - up] if up <= len(where) else ()
                names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", first)
                for n in names:
                    t = "self" if n == "self" else target(base, n)
                    t = base if t == "self" else t
                    if t is not None and t != path:
                        graph[path].add(t)
    return graph


def sibling_edges(graph, parent: tuple[str, ...]) -> dict[str, set[str]]:
    """The dependencies among the children of `parent` (a use of a child's descendant counts
    as a use of that child; uses of `parent` itself, e.g. `use super::*`, do not)."""
    depth = len(parent)
    kids = {p[depth] for p in graph if len(p) > depth and p[:depth] == parent}
    edges: dict[str, set[str]] = {k: set() for k in kids}
    for src, targets in graph.items():
        if len(src) <= depth or src[:depth] != parent:
            continue
        for t in targets:
            if len(t) > depth and t[:depth] == parent and t[depth] != src[depth]:
                edges[src[depth]].add(t[depth])
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path `[a, b, ..., a]`, or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def dfs(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (c := dfs(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state and (c := dfs(n)):
            return c
    return None


@pytest.mark.parametrize("crate", sorted(CRATES))
def test_top_level_modules_form_a_dag(crate):
    graph = module_graph(CRATES[crate])
    cycle = find_cycle(sibling_edges(graph, ()))
    assert cycle is None, f"{crate}: module cycle {' -> '.join(cycle)}"


@pytest.mark.parametrize("crate", sorted(CRATES))
def test_directory_modules_form_dags(crate):
    graph = module_graph(CRATES[crate])
    parents = {p[:-1] for p in graph if len(p) > 1}
    for parent in sorted(parents):
        cycle = find_cycle(sibling_edges(graph, parent))
        where = "::".join(parent)
        assert cycle is None, f"{crate}: cycle among {where}'s modules: {' -> '.join(cycle)}"


def test_the_graph_sees_the_known_edges():
    # Guards the parser itself: a graph that lost its edges would pass the DAG tests vacuously.
    g = sibling_edges(module_graph(CRATES["hyperbeam-core"]), ())
    assert {"httpsig_commit", "httpsig_decode", "httpsig_encode"} <= g["httpsig"]
    assert {"id_fast", "sig_base", "httpsig_encode"} <= g["message_id"]
    assert "value" in g["cache_layout"]  # through the root's `pub use value::{Msg, Value}`
    assert "error" in g["sf"]  # from sf/parse.rs, a file of the directory module
    sf = sibling_edges(module_graph(CRATES["hyperbeam-core"]), ("sf",))
    assert {"chars", "key_index", "types"} <= sf["parse"]


def test_a_cycle_is_reported(tmp_path):
    src = tmp_path / "src"
    (src / "b").mkdir(parents=True)
    (src / "lib.rs").write_text("pub mod a;\npub mod b;\npub use a::Thing;\n")
    (src / "a.rs").write_text(
        "use crate::b::f;\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n"
    )
    (src / "b" / "mod.rs").write_text("mod x;\nmod y;\n")
    (src / "b" / "x.rs").write_text("use super::y::g;\n")
    (src / "b" / "y.rs").write_text("pub fn g() { crate::Thing; super::x::h(); }\n")
    graph = module_graph(src)
    assert find_cycle(sibling_edges(graph, ())) == ["a", "b", "a"]
    assert find_cycle(sibling_edges(graph, ("b",))) == ["x", "y", "x"]
