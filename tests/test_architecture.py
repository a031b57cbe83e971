"""The shape of the house (DESIGN.md "Data flows one way", issue #17), checked on the source itself with ``ast``.

* Outside ``store/`` no module imports duckdb or holds SQL: data leaves the store through its named reads.
* No import circle among whatworks modules, function-level imports included (every ``Import``/``ImportFrom`` node
  anywhere in a module is an edge; imports under ``if TYPE_CHECKING:`` never run and are left out).
* Analyses (performance, place, people, trials, impact, evidence, survey, privacy) import neither ``store``,
  ``report`` nor ``app``: they take DataFrames.
* No room imports another room's private names (``from whatworks.x._y import …`` or ``import … _name`` across
  top-level subpackages).

Known offenders not fixed yet are listed below (SQL as ``xfail(strict=True)`` cases), so the lists can only shrink: when
one is fixed its check fails until the entry is deleted.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "whatworks"
ANALYSES = ("performance", "place", "people", "trials", "impact", "evidence", "survey", "privacy", "quality")
FORBIDDEN_FOR_ANALYSES = ("whatworks.store", "whatworks.report", "whatworks.app")
# SQL in a string constant: a statement verb and, later, its FROM/INTO/TABLE/SET (case-sensitive, so English prose
# such as "select the rows from" does not match). Docstrings are left out: they may show users store.sql("SELECT …").
SQL = re.compile(r"\b(SELECT|INSERT|CREATE|DELETE|UPDATE)\b.+\b(FROM|INTO|TABLE|SET)\b", re.DOTALL)

# Deliberate exceptions, each with its reason.
SQL_EXCEPTIONS: dict[str, str] = {}
ANALYSIS_IMPORT_EXCEPTIONS = {
    ("whatworks.people.linkage", "whatworks.store.links"):
        "link() on a plain DataFrame needs a scratch DuckDB connection for Splink; the store owns connections, so "
        "link() asks the store's helper linkage_connection() for one (a function-level import, only when no "
        "connection= is handed in) instead of opening DuckDB itself.",
}

# Known offenders (issue #17), owned by the report engineer this session: the cases are expected to fail.
KNOWN_SQL = {
}
KNOWN_PRIVATE: dict[tuple[str, str], str] = {
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@lru_cache(maxsize=None)
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


@lru_cache(maxsize=None)
def _tree(name: str) -> ast.Module:
    path = _modules()[name]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes under ``if TYPE_CHECKING:`` (never executed)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            t = node.test
            if (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
                    isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"):
                for child in node.body:
                    out.update(id(n) for n in ast.walk(child))
    return out


def _is_package(name: str) -> bool:
    return _modules()[name].name == "__init__.py"


def _imports(name: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every executed import in module ``name``."""
    tree = _tree(name)
    skip = _type_checking_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if _is_package(name) else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((mod, [a.name for a in node.names], node.lineno))
    return out


def _targets(name: str) -> list[tuple[str, int]]:
    """whatworks modules ``name`` imports: ``from a.b import c`` is ``a.b.c`` when that is a module, else ``a.b``."""
    mods = _modules()
    out = []
    for mod, names, line in _imports(name):
        if not (mod == "whatworks" or mod.startswith("whatworks.")):
            continue
        subs = [f"{mod}.{n}" for n in names if f"{mod}.{n}" in mods]
        if subs:
            out += [(s, line) for s in subs]
        if not names or len(subs) < len(names):
            if mod in mods:
                out.append((mod, line))
    return out


def _sql_strings(name: str) -> list[tuple[int, str]]:
    tree = _tree(name)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.add(id(first.value))
    found = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{x}" for v in node.values)
        if text and SQL.search(text):
            found.append((node.lineno, " ".join(text.split())[:80]))
    return found


def _outside_store() -> list[str]:
    return [m for m in _modules() if not (m == "whatworks.store" or m.startswith("whatworks.store."))]


def _param(cases: list[str], known: dict) -> list:
    return [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=known[c])) if c in known else c for c in cases]


# ---------------------------------------------------------------------------------------------- the detectors


def test_detectors_see_what_they_should():
    """The checks themselves, on hand-built source: a detector that sees nothing would pass everything."""
    assert SQL.search("SELECT a FROM t") and SQL.search("INSERT INTO t VALUES (1)")
    assert SQL.search("SELECT x,\n  y\n FROM crimes WHERE source_system = ?")
    assert not SQL.search("select the rows from the table") and not SQL.search("Create a table of counts")
    assert len(_modules()) > 100 and "whatworks.store.engine" in _modules()
    assert ("whatworks.store.links", 0) not in _targets("whatworks.demo")
    assert any(t == "whatworks.store.engine" for t, _ in _targets("whatworks.store._reads_api"))
    assert any(t == "whatworks._geo" for t, _ in _targets("whatworks.synth.crimes"))   # a function-level import
    assert _sql_strings("whatworks.store._reads_api")   # the store's own reads are SQL


# ---------------------------------------------------------------------------------------------- no SQL, no duckdb


@pytest.mark.parametrize("module", _param(_outside_store(), KNOWN_SQL))
def test_no_sql_or_duckdb_outside_the_store(module):
    duck = [line for mod, _, line in _imports(module) if mod == "duckdb" or mod.startswith("duckdb.")]
    assert not duck, f"{module} imports duckdb (line {duck[0]}): read through the store's named reads instead"
    if module in SQL_EXCEPTIONS:
        return
    sql = _sql_strings(module)
    assert not sql, f"{module} holds SQL at line {sql[0][0]}: {sql[0][1]!r}; add a named read to the store"


# ---------------------------------------------------------------------------------------------- no circles


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself), by Tarjan."""
    graph = {m: sorted({t for t, _ in _targets(m)}) for m in _modules()}
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
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
            if len(comp) > 1 or v in graph.get(v, []):
                out.append(sorted(comp))

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in graph:
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return out


def _edges_within(comp: list[str]) -> list[str]:
    inside = set(comp)
    return [f"{m}:{line} -> {t}" for m in comp for t, line in _targets(m) if t in inside]


def test_no_import_cycles():
    cycles = _cycles()
    detail = "; ".join(f"{c}: {_edges_within(c)[:6]}" for c in cycles)
    assert not cycles, f"import circle(s) among whatworks modules: {detail}"


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    fake = {"whatworks.a": Path("a.py"), "whatworks.b": Path("b.py"), "whatworks.c": Path("c.py")}
    edges = {"whatworks.a": [("whatworks.b", 1)], "whatworks.b": [("whatworks.a", 3)], "whatworks.c": []}
    import sys

    mod = sys.modules[__name__]
    monkeypatch.setattr(mod, "_modules", lambda: fake)
    monkeypatch.setattr(mod, "_targets", lambda m: edges[m])
    assert mod._cycles() == [["whatworks.a", "whatworks.b"]]


# ---------------------------------------------------------------------------------------------- analyses are pure


def _analysis_modules() -> list[str]:
    return [m for m in _modules() if m.split(".")[1:2] and m.split(".")[1] in ANALYSES]


@pytest.mark.parametrize("module", _analysis_modules())
def test_analyses_do_not_import_store_report_or_app(module):
    bad = []
    for mod, names, line in _imports(module):
        hit = [f for f in FORBIDDEN_FOR_ANALYSES if mod == f or mod.startswith(f + ".")]
        if not hit and mod == "whatworks":
            hit = [f"whatworks.{n}" for n in names if f"whatworks.{n}" in FORBIDDEN_FOR_ANALYSES]
        if hit and (module, mod) not in ANALYSIS_IMPORT_EXCEPTIONS:
            bad.append(f"line {line}: {mod}")
    assert not bad, f"{module} imports {bad}: analyses take DataFrames (DESIGN.md)"


# ---------------------------------------------------------------------------------------------- private names


def _private_imports() -> list[tuple[str, str]]:
    """(module, private target) where a module imports another top-level room's private module or name."""
    out = []
    for m in _modules():
        room = m.split(".")[1] if m.count(".") else ""
        for mod, names, _ in _imports(m):
            if not mod.startswith("whatworks."):
                continue
            other = mod.split(".")[1]
            if other == room or other.startswith("_"):
                continue   # one room's own parts, and the shared whatworks._x modules, are fine
            if any(p.startswith("_") for p in mod.split(".")[2:]):
                out.append((m, mod))
            out += [(m, f"{mod}.{n}") for n in names if n.startswith("_") and not n.startswith("__")]
    return sorted(set(out))


def test_private_imports_across_rooms_are_only_the_known_ones():
    found = set(_private_imports())
    new = sorted(found - set(KNOWN_PRIVATE))
    assert not new, f"private names imported across rooms: {new}; make them public or move them"


def test_known_private_imports_are_still_there():
    """The known list can only shrink: an entry whose import is gone must be deleted (as a strict xfail would say).
    Empty since issue 17: the dashboard imports whatworks.report.data, whatworks.report.sections and
    whatworks.report.pack.shift_month, and serve the public names of whatworks.app."""
    gone = sorted(set(KNOWN_PRIVATE) - set(_private_imports()))
    assert not gone, f"fixed, so delete from KNOWN_PRIVATE: {gone}"
