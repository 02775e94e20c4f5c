"""Layers without back-edges: data flows one way (scenario -> network -> model -> results ->
plots, sweeps, calibration), no module of `sim` imports one that imports it back, and the
readers of results load no simulation library."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Modules imported anywhere in `tree` (in functions too), but under `if TYPE_CHECKING:`."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> nx.DiGraph:
    """Module -> the `sim` modules importing it executes: the module itself and the packages
    above it that the importer is not inside (a package's __init__ runs first)."""
    modules = {_module_name(p): p for p in SIM.rglob("*.py")}
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for imported in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if imported not in modules:
                continue  # a name imported from a module, or not ours
            parts = imported.split(".")
            for end in range(2, len(parts) + 1):
                target = ".".join(parts[:end])
                inside = name == target or name.startswith(target + ".")
                if target in modules and not inside:
                    graph.add_edge(name, target)
    return graph


def test_no_module_of_sim_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    assert graph.number_of_edges() > 100  # the graph was read
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


@pytest.mark.parametrize(
    ("layer", "below"),
    [
        ("sim.scenario", ["sim.model", "sim.results", "sim.calibrate", "sim.sweep", "sim.plots"]),
        ("sim.rules", ["sim.scenario", "sim.model", "sim.kernels", "sim.plots"]),
        ("sim.results", ["sim.model", "sim.kernels", "sim.plots", "sim.figures"]),
        ("sim.rundir", ["sim.model", "sim.figures", "sim.plots"]),
        ("sim.kernels", ["sim.model", "sim.rules", "sim.scenario"]),
    ],
)
def test_a_layer_does_not_reach_up(layer: str, below: list[str]) -> None:
    """What `layer` imports, directly or not, includes none of the layers built on it."""
    graph = import_graph()
    starts = [n for n in graph if n == layer or n.startswith(layer + ".")]
    reached = set().union(*(nx.descendants(graph, n) for n in starts))
    bad = sorted(m for m in reached for up in below if m == up or m.startswith(up + "."))
    assert not bad, f"{layer} reaches {bad}"


LOADED = """
import json, sys
for name in sys.argv[1:]:
    __import__(name)
print(json.dumps(sorted(m for m in ("numba", "mesa") if m in sys.modules)))
"""


@pytest.mark.parametrize(
    "modules",
    [
        ["sim.plots"],
        ["sim.results"],
        ["sim.rundir"],
        ["sim.targets"],
        ["sim.animation"],
        ["sim.scenario", "sim.rules"],
    ],
)
def test_readers_of_results_and_scenarios_load_neither_numba_nor_mesa(modules: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *modules], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []
