"""The package's public names: each resolves to what its module defines, and `import sim` (or a
command that only reads files) does not load the simulation's heavy libraries."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import sim


@pytest.mark.parametrize("name", sim.__all__)
def test_each_public_name_is_its_modules_own(name: str) -> None:
    value = getattr(sim, name)
    home = importlib.import_module(value.__module__)
    assert getattr(home, name) is value
    assert name in dir(sim)


def test_submodules_are_attributes_as_after_an_import() -> None:
    code = "import sim\nprint(sim.scenario.load.__module__, sim.plots.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["sim.scenario.loading", "sim.plots"]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'sim' has no attribute 'lod'"):
        sim.lod  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_package_and_its_cli_loads_no_simulation_library() -> None:
    code = (
        "import sys, sim, sim.cli, sim.scenario\n"
        "print(sorted(m for m in ('numba', 'mesa', 'matplotlib', 'dask') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
