"""The house rules of the code, checked statically (ast, no imports run, well under a second).

Why: a layout only stays a layout if something fails when it is broken. The rules (README, repo map):
- no import circles among the project's modules (ingestion, sandbox, bench, dags, devtools): a circle
  makes import order matter and a module impossible to understand alone;
- the product package `ingestion` never imports `sandbox`, `devtools`, `bench`, `tests` or `airflow`
  (not at module level, not inside a function, not through `importlib.import_module("...")`): the
  wheel ships without them, and the pipeline runs without a scheduler;
- the runtime (every `ingestion` subpackage but `onboarding` and `cli`) never imports
  `ingestion.onboarding`: the nightly run does not depend on setup code;
- no private name (`_x`) is imported from another module: what is shared is public.
Imports inside functions count the same as imports at the top: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOPS = ("ingestion", "sandbox", "bench", "dags", "devtools")
FORBIDDEN_FOR_INGESTION = ("sandbox", "devtools", "bench", "tests", "airflow")
EDGE_PACKAGES = ("ingestion.onboarding", "ingestion.cli")  # may import the runtime, not the other way


def module_files(root: Path, tops: tuple[str, ...] = TOPS) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file below the given top-level folders."""
    found = {}
    for top in tops:
        for path in sorted((root / top).rglob("*.py")) if (root / top).is_dir() else []:
            parts = list(path.relative_to(root).with_suffix("").parts)
            if any(part.startswith(".") for part in parts):  # bench/.venv-dlt: the dlt peer's venv, not ours
                continue
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every import statement in the file, at any depth.

    `importlib.import_module("x.y")` with a literal string counts as importing `x.y`.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            found += [(base, alias.name) for alias in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.args[0].value, None))
    return found


def import_graph(modules: dict[str, Path]) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Edges between project modules, and (importer, module, name) for every `from m import _private`.

    `from pkg import name` is an edge to `pkg.name` when that is a module, else to `pkg`.
    Parent packages are not edges of their own (their `__init__` runs, but imports nothing back).
    """
    graph: dict[str, set[str]] = {name: set() for name in modules}
    private: list[tuple[str, str, str]] = []
    for name, path in modules.items():
        for module, imported in imports_of(name, path):
            target = f"{module}.{imported}" if imported and f"{module}.{imported}" in modules else module
            if target in modules and target != name:
                graph[name].add(target)
            if (imported and imported.startswith("_") and not imported.startswith("__")
                    and module.split(".")[0] in TOPS and module != name):
                private.append((name, module, imported))
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

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
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def violations(root: Path) -> list[str]:
    """Every broken rule, one line each (empty: the house is in order)."""
    modules = module_files(root)
    graph, private = import_graph(modules)
    problems = [f"import circle: {' <-> '.join(c)}" for c in cycles(graph)]
    for name, path in modules.items():
        if name != "ingestion" and not name.startswith("ingestion."):
            continue
        runtime = not any(name == edge or name.startswith(edge + ".") for edge in EDGE_PACKAGES)
        for module, _ in imports_of(name, path):
            top = module.split(".")[0]
            if top in FORBIDDEN_FOR_INGESTION:
                problems.append(f"{name} imports {module}: ingestion never imports {top}")
            if runtime and (module == "ingestion.onboarding" or module.startswith("ingestion.onboarding.")):
                problems.append(f"{name} imports {module}: the runtime never imports onboarding")
    problems += [f"{name} imports the private name {imported} from {module}" for name, module, imported in private]
    return problems


def test_the_project_keeps_the_house_rules():
    assert violations(REPO) == []


def test_the_cycle_finder_finds_a_planted_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_rules_fail_on_a_planted_tree(tmp_path):
    """A tiny tree that breaks every rule once: the checker names each break."""
    files = {
        "ingestion/__init__.py": "",
        "ingestion/core/__init__.py": "",
        "ingestion/core/a.py": "from ingestion.core import b\n",
        "ingestion/core/b.py": "def f():\n    from ingestion.core.a import _hidden\n",
        "ingestion/extract/__init__.py": "",
        "ingestion/extract/fetch.py": "import importlib\nimportlib.import_module('sandbox.cli')\n"
                                      "from ingestion.onboarding import setup\n",
        "ingestion/onboarding/__init__.py": "",
        "ingestion/onboarding/setup.py": "from ingestion.extract import fetch\n",
        "ingestion/cli.py": "from ingestion.onboarding import setup\nimport airflow\n",
        "sandbox/__init__.py": "",
        "sandbox/cli.py": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert sorted(violations(tmp_path)) == sorted([
        "import circle: ingestion.core.a <-> ingestion.core.b",
        "import circle: ingestion.extract.fetch <-> ingestion.onboarding.setup",
        "ingestion.extract.fetch imports sandbox.cli: ingestion never imports sandbox",
        "ingestion.extract.fetch imports ingestion.onboarding: the runtime never imports onboarding",
        "ingestion.cli imports airflow: ingestion never imports airflow",
        "ingestion.core.b imports the private name _hidden from ingestion.core.a",
    ])
