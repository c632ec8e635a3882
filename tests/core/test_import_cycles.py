"""The package imports cleanly: every module on its own in a fresh interpreter, and no cycle between modules.

Checks that complement each other:
- the dynamic one imports each module alone, with no other cogrow module loaded, so a module that works only when
  something else happened to be imported first (the usual symptom of a cycle) fails here;
- the static one reads each module's top-level imports (those that run when the module is imported; imports inside
  functions and under `if TYPE_CHECKING:` do not) and asserts the graph between cogrow modules has no cycle, naming
  the modules of any cycle it finds;
- a stricter static one counts imports inside functions too: such an import only postpones a cycle. The few still
  there are listed in KNOWN_DEFERRED with their reason;
- no core module imports a domain at all (not even inside a function), and no domain imports the home pages.
"""
from __future__ import annotations

import ast
import json
import os
import pkgutil
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

import cogrow

PACKAGE_DIR = Path(cogrow.__file__).resolve().parent
# Alembic's scripts run inside a migration context, not on import.
SKIPPED = ("cogrow.migrations",)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool


def _modules() -> dict[str, Module]:
    found = {"cogrow": Module("cogrow", PACKAGE_DIR / "__init__.py", True)}
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="cogrow."):
        if any(info.name == s or info.name.startswith(s + ".") for s in SKIPPED):
            continue
        base = PACKAGE_DIR.joinpath(*info.name.split(".")[1:])
        path = base / "__init__.py" if info.ispkg else base.with_suffix(".py")
        found[info.name] = Module(info.name, path, info.ispkg)
    return found


MODULES = _modules()


def test_the_walk_finds_every_domain_and_skips_migrations():
    packages = {name.split(".")[1] for name in MODULES if name.count(".") >= 1}
    for domain in ("core", "accounts", "relationships", "catalog", "orders", "forecasts", "imports", "production",
                   "shipments", "coverage", "alerts", "home"):
        assert domain in packages
    assert {"cogrow.imports.services", "cogrow.imports.tasks", "cogrow.home.views"} <= set(MODULES)
    assert not [name for name in MODULES if name.startswith("cogrow.migrations")]


# --- dynamic: each module alone, in a new interpreter -------------------------------------------------------------
#
# A new `python -c "import <module>"` per module costs ~0.7 s of CPU, mostly Flask, SQLAlchemy and Celery. So one new
# interpreter imports those third-party modules first (the list is what importing all of cogrow loads), checks that
# no cogrow module is loaded, then forks a child per cogrow module: each child starts with no cogrow module at all,
# exactly as a new interpreter would, and imports only its own. COGROW_IMPORT_CHECK=exec runs a separate
# interpreter per module instead (slower, and the same verdict).

_THIRD_PARTY = """
import json, sys
for name in json.loads(sys.argv[1]):
    try:
        __import__(name)
    except Exception:
        pass  # the forked children report it
print(json.dumps([m for m in sys.modules if m.split(".")[0] not in ("cogrow", "__main__")]))
"""

_FORK_SERVER = """
import importlib, json, os, shutil, sys, tempfile, traceback
names, preload, workers = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
for dep in preload:
    try:
        importlib.import_module(dep)
    except Exception:
        pass  # a private module that only its package may import; the package itself is loaded
loaded = [m for m in sys.modules if m.split(".")[0] == "cogrow"]
assert not loaded, f"preloading third-party modules loaded {loaded}"
running, failed = {}, {}
out = tempfile.mkdtemp()

def reap():
    pid, status = os.wait()
    name = running.pop(pid)
    if os.waitstatus_to_exitcode(status) != 0:
        path = os.path.join(out, name)
        failed[name] = open(path).read() if os.path.exists(path) else f"exit status {status}"

for name in names:
    while len(running) >= workers:
        reap()
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException:
            with open(os.path.join(out, name), "w") as f:
                f.write(traceback.format_exc())
            os._exit(1)
        os._exit(0)
    running[pid] = name
while running:
    reap()
shutil.rmtree(out)
print(json.dumps(failed))
"""


def _python(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    # This checkout's package first, whatever the virtualenv points at; warnings are errors, as in the suite.
    path = os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "error"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=PACKAGE_DIR.parent.parent)


def _each_in_a_new_interpreter(names: list[str]) -> dict[str, str]:
    def one(name: str) -> tuple[str, subprocess.CompletedProcess]:
        return name, _python("-c", f"import {name}", timeout=120)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return {name: done.stderr or f"exit {done.returncode}" for name, done in pool.map(one, names)
                if done.returncode != 0}


def _each_in_a_forked_child(names: list[str]) -> dict[str, str]:
    found = _python("-c", _THIRD_PARTY, json.dumps(names))
    assert found.returncode == 0, found.stderr
    served = _python("-c", _FORK_SERVER, json.dumps(names), found.stdout, str(max(2, os.cpu_count() or 2)))
    assert served.returncode == 0, served.stderr
    return json.loads(served.stdout.strip().splitlines()[-1])


# A name that cannot import: proves that a failing import is reported (and not lost in a child).
_CANARY = "cogrow.core.no_such_module"


def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = sorted(MODULES) + [_CANARY]
    if hasattr(os, "fork") and os.environ.get("COGROW_IMPORT_CHECK") != "exec":
        failed = _each_in_a_forked_child(names)
    else:
        failed = _each_in_a_new_interpreter(names)
    assert "ModuleNotFoundError" in failed.pop(_CANARY, "")
    assert not failed, "modules that do not import on their own:\n" + "\n".join(
        f"{name}: {text.strip().splitlines()[-1] if text.strip() else text}" for name, text in sorted(failed.items()))


def test_a_new_interpreter_gives_the_same_verdict_for_the_leaves():
    """The slower mode (COGROW_IMPORT_CHECK=exec) works: the guards and the actor loading import alone."""
    assert _each_in_a_new_interpreter(["cogrow.core.auth", "cogrow.accounts.loading"]) == {}
    assert "ModuleNotFoundError" in _each_in_a_new_interpreter([_CANARY])[_CANARY]


# --- static: the graph of top-level imports ----------------------------------------------------------------------

def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_time_statements(body: list[ast.stmt]):
    """Statements run when the module is imported: the body, into if/try/with/class blocks, not into functions."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_statements(node.body)
            yield from _import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _import_time_statements(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _import_time_statements(node.body)


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.name.split(".")
    base = parts if module.is_package else parts[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _all_statements(body: list[ast.stmt]):
    """Every import, wherever it runs (functions included), except under `if TYPE_CHECKING:`."""
    for node in body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _all_statements(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                yield from _all_statements([n for n in inner if isinstance(n, (ast.stmt, ast.excepthandler))])
        if isinstance(node, ast.Match):
            for case in node.cases:
                yield from _all_statements(case.body)


def _imports_of(module: Module, *, deferred: bool = False) -> set[str]:
    """The cogrow modules this one imports when it is imported (with `deferred`: also when its functions run)."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    targets: set[str] = set()
    for node in (_all_statements if deferred else _import_time_statements)(tree.body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            source = _resolve(module, node)
            # `from cogrow.core import audit` imports the module cogrow.core.audit; `from x import name` imports x.
            names = [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]
        for name in names:
            # `import cogrow.core.audit` names a module; a name not in the walk (a package's attribute) counts as
            # the nearest enclosing module.
            while name and name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in MODULES and name != module.name:
                targets.add(name)
    return targets


def import_graph(*, deferred: bool = False) -> dict[str, set[str]]:
    return {name: _imports_of(module, deferred=deferred) for name, module in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path a -> b -> ... -> a) for each strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(start: str) -> None:  # Tarjan's algorithm, iterative (the graph is deep enough to matter)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            connect(name)
    return [_closed_path(graph, set(group)) for group in groups]


def _closed_path(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """The shortest way from the group's first module back to itself, inside the group (breadth first)."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover (a strongly connected group has one)


def test_the_cycle_finder_names_a_cycle_and_passes_a_tree():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_static_reader_sees_top_level_imports_only():
    source = PACKAGE_DIR / "core" / "audit.py"
    found = _imports_of(Module("cogrow.core.audit", source, False))
    assert "cogrow.core.models" in found  # a plain top-level import
    assert "cogrow.core.auth" not in found  # only under `if TYPE_CHECKING:`
    errors = Module("cogrow.core.errors", PACKAGE_DIR / "core" / "errors.py", False)
    assert "cogrow.core.audit" not in _imports_of(errors)  # imported inside register_error_handlers
    assert "cogrow.core.audit" in _imports_of(errors, deferred=True)
    assert "cogrow.core.auth" not in _imports_of(Module("cogrow.core.audit", source, False), deferred=True)


def test_no_import_cycle_between_cogrow_modules():
    found = cycles(import_graph())
    assert not found, "import cycles between cogrow modules (top-level imports):\n" + "\n".join(
        " -> ".join(cycle) for cycle in found)


# Imports inside a function that close a cycle, which the check below tolerates, each with why it is still there.
# A module imported inside a function is a cycle postponed, not removed: the rule (as imports/tasks.py shows) is
# that the caller imports the callee at the top and the callee never imports the caller. Remove an entry once fixed.
KNOWN_DEFERRED: dict[tuple[str, str], str] = {}


def test_no_cycle_hides_behind_an_import_inside_a_function():
    graph = import_graph(deferred=True)
    for caller, callee in KNOWN_DEFERRED:
        graph[caller].discard(callee)
    found = cycles(graph)
    assert not found, "import cycles between cogrow modules, counting imports inside functions:\n" + "\n".join(
        " -> ".join(cycle) for cycle in found)


def test_the_known_deferred_cycles_are_still_there():
    """An entry of KNOWN_DEFERRED that no longer closes a cycle is stale: remove it (so the cycle cannot return)."""
    graph = import_graph(deferred=True)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    stale = [(caller, callee) for caller, callee in KNOWN_DEFERRED
             if callee not in graph[caller] or not reaches(callee, caller)]
    assert not stale, f"these cycles are gone: remove them from KNOWN_DEFERRED: {stale}"


def test_no_domain_imports_the_home_pages():
    offenders = sorted(f"{name} -> {target}" for name, targets in import_graph(deferred=True).items()
                       if name != "cogrow" and not name.startswith("cogrow.home")
                       for target in targets if target.startswith("cogrow.home"))
    assert not offenders, "the home pages are a package of their own that domains do not import:\n" + "\n".join(offenders)


# Core is imported by every domain: it imports no domain at all (not even inside a function), so a domain can never
# be half-imported when core runs. What needs a domain is registered by that domain (accounts hands core's language
# switch the function that stores a user's language; the development mail pages live in accounts).
CORE = sorted(name for name in MODULES if name == "cogrow.core" or name.startswith("cogrow.core."))
ALLOWED_IN_CORE = ("cogrow.core", "cogrow.extensions", "cogrow.config", "cogrow.celery")


def test_the_core_walk_covers_the_route_guards_and_the_field_parsers():
    assert {"cogrow.core.auth", "cogrow.core.roles", "cogrow.core.audit", "cogrow.core.errors", "cogrow.core.fields",
            "cogrow.core.views", "cogrow.core.services", "cogrow.core.mail", "cogrow.core.api"} <= set(CORE)


def _imported_names(module: Module) -> set[str]:
    """Every module a module names in an import statement, wherever it is (functions and TYPE_CHECKING blocks too)."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if source == "cogrow":  # `from cogrow import accounts` imports the package cogrow.accounts
                imported |= {f"cogrow.{alias.name}" for alias in node.names}
            else:
                imported.add(source)
    return imported


def test_the_core_check_sees_imports_anywhere_in_a_module(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from cogrow.orders.models import PurchaseOrder\n"
                      "def later():\n    from cogrow import accounts, extensions\n    from . import fields\n",
                      encoding="utf-8")
    found = _imported_names(Module("cogrow.core.sample", source, False))
    assert {"cogrow.orders.models", "cogrow.accounts", "cogrow.core"} <= found
    assert _domains_imported_by(Module("cogrow.core.sample", source, False)) == ["cogrow.accounts", "cogrow.orders.models"]


def _domains_imported_by(module: Module) -> list[str]:
    return sorted(i for i in _imported_names(module)
                  if (i == "cogrow" or i.startswith("cogrow.")) and not i.startswith(ALLOWED_IN_CORE))


@pytest.mark.parametrize("name", CORE)
def test_core_imports_no_domain(name):
    offenders = _domains_imported_by(MODULES[name])
    assert not offenders, f"{name} imports {offenders}"


def test_no_page_asks_whether_another_domain_is_there():
    """Every domain is always registered, so no module probes `view_functions` to hide a link to another one."""
    probe = re.compile(r"\bin\s+(\w+\.)?view_functions\b|current_app\.view_functions")
    probing = sorted(name for name, module in MODULES.items() if probe.search(module.path.read_text(encoding="utf-8")))
    assert not probing, f"these modules hide links behind `endpoint in view_functions`: {probing}"
