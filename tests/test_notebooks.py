"""Every notebook in notebooks/ runs end to end (small: CARAVAN_NOTEBOOK_SMALL=1), is stored
without outputs, and uses only the public API."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import sim
from sim import plots

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 600  # generous: a loaded CI machine can be many times slower


def code_cells(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01-quickstart.ipynb",
        "02-counterfactuals.ipynb",
        "03-sweeps.ipynb",
        "04-calibration.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARAVAN_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("CARAVAN_NOTEBOOK_OUT", str(tmp_path))
    # No kernel a user installed for another Python: the kernel is this environment's own.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    figures = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    # every cell that ends on a plot shows it as a picture
    ends_on_a_plot = [
        source
        for source in code_cells(path)
        if re.search(r"^(plots\.\w+\(|fig$)", source.splitlines()[-1].strip())
    ]
    assert len(figures) == len(ends_on_a_plot) > 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], cell.source[:60]
            assert cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_only_the_public_api(path: Path) -> None:
    source = "\n".join(code_cells(path))
    imports = re.findall(r"^\s*(?:from (sim\S*) import|import (sim\S*))", source, re.MULTILINE)
    assert {a or b for a, b in imports} <= {"sim"}, imports  # `import sim`, `from sim import ...`
    assert set(re.findall(r"from sim import (\w+)", source)) <= {"plots"}
    used = set(re.findall(r"\bsim\.(\w+)", source))
    assert used <= {*sim.__all__, "plots"}, used - {*sim.__all__, "plots"}
    drawn = set(re.findall(r"\bplots\.(\w+)", source))
    assert drawn, "a notebook without plots"
    assert all(not name.startswith("_") and hasattr(plots, name) for name in drawn), drawn
