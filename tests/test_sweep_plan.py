"""Sweep files: designs computed by hand, common random numbers, and errors with file:line key."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml
from SALib.sample import sobol as salib_sobol

from sim.errors import ScenarioError
from sim.scenario import derive, load
from sim.sweep.plan import load_sweep_file

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "scenarios" / "january-2021.yaml"
SLIP = "authorities.vado_hondo_blockade.slip_chance_per_h"
SPEED = "movement.walking_speed_kmh"
EXIT_INPUT_ERROR = 2


def write_sweep(tmp_path: Path, body: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"name: test-sweep\nbase: {BASE}\n{body}", encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_sweep_file(path)
    return [str(p) for p in info.value.problems]


# --------------------------------------------------------------------------------------------
# Designs
# --------------------------------------------------------------------------------------------


def test_grid_points_are_every_combination_first_parameter_slowest(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        f"""parameters:
  {SPEED}: {{values: [2.5, 3.5]}}
  {SLIP}: {{range: [0.001, 0.1], steps: 3, scale: log}}
replicates: 2
seed: 7
""",
    )
    sweep = load_sweep_file(path)
    design = sweep.design.table().to_pydict()
    assert design["point_id"] == [0, 1, 2, 3, 4, 5]
    assert design[SPEED] == [2.5, 2.5, 2.5, 3.5, 3.5, 3.5]
    assert design[SLIP] == pytest.approx([0.001, 0.01, 0.1] * 2)
    runs = list(sweep.runs())
    assert [(r.run_id, r.point_id, r.replicate) for r in runs[:4]] == [
        (0, 0, 0),
        (1, 0, 1),
        (2, 1, 0),
        (3, 1, 1),
    ]
    # common random numbers: replicate r has seed 7 + r at every point
    assert {r.seed for r in runs if r.replicate == 0} == {7}
    assert {r.seed for r in runs if r.replicate == 1} == {8}
    assert sweep.n_runs == len(runs) == 12
    assert runs[5].values == {SPEED: 2.5, SLIP: pytest.approx(0.1)}


def test_integer_grid_and_hours_after_give_the_scenario_its_own_types(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        """parameters:
  authorities.el_florido_force.force: {range: [500, 2500], steps: 3, integer: true}
  authorities.vado_hondo_blockade.active.end:
    hours_after: 2021-01-16T19:00:00-06:00
    values: [12, 37.5]
    label: duration_h
""",
    )
    sweep = load_sweep_file(path)
    table = sweep.design.table()
    assert table.schema.field("authorities.el_florido_force.force").type == pa.int64()
    assert table.column("authorities.el_florido_force.force").to_pylist() == [
        500,
        500,
        1500,
        1500,
        2500,
        2500,
    ]
    assert table.column("duration_h").to_pylist() == [12.0, 37.5] * 3
    base_start = load(BASE).authorities["vado_hondo_blockade"].active.start
    values = sweep.run(1, 0).values
    assert values["authorities.vado_hondo_blockade.active.end"] == base_start + timedelta(
        hours=37.5
    )
    assert values["authorities.el_florido_force.force"] == 500
    assert isinstance(values["authorities.el_florido_force.force"], int)


def test_latin_hypercube_puts_one_point_in_each_stratum_and_is_seeded(tmp_path: Path) -> None:
    body = f"""parameters:
  {SPEED}: {{range: [2.0, 4.0]}}
  {SLIP}: {{range: [0.001, 0.1], scale: log}}
  authorities.el_florido_force.force: {{range: [1, 10], integer: true}}
design: {{kind: lhs, points: 10}}
seed: SEED
"""
    a = load_sweep_file(write_sweep(tmp_path, body.replace("SEED", "3"), "a.yaml"))
    b = load_sweep_file(write_sweep(tmp_path, body.replace("SEED", "3"), "b.yaml"))
    c = load_sweep_file(write_sweep(tmp_path, body.replace("SEED", "4"), "c.yaml"))
    speeds = np.array(a.design.columns[SPEED])
    assert sorted(np.floor((speeds - 2.0) / 0.2).astype(int)) == list(range(10))
    slips = np.log10(np.array(a.design.columns[SLIP]))
    assert sorted(np.floor((slips + 3.0) / 0.2).astype(int)) == list(range(10))
    # ten strata over the ten whole numbers 1..10: each drawn exactly once
    assert sorted(a.design.columns["authorities.el_florido_force.force"]) == list(range(1, 11))
    assert a.design.columns == b.design.columns
    assert a.fingerprints() == b.fingerprints()
    assert a.design.columns != c.design.columns
    assert a.fingerprints()["design"] != c.fingerprints()["design"]


def test_sobol_design_is_salibs_saltelli_sample_in_its_order(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        f"""parameters:
  {SPEED}: {{range: [2.0, 4.0]}}
  {SLIP}: {{values: [0.001, 0.01, 0.1, 0.2]}}
design: {{kind: sobol, base_points: 8, second_order: true}}
seed: 5
""",
    )
    sweep = load_sweep_file(path)
    assert sweep.design.n_points == 8 * (2 * 2 + 2)
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2}
    unit = salib_sobol.sample(problem, 8, calc_second_order=True, seed=5)
    assert sweep.design.columns[SPEED] == pytest.approx(list(2.0 + 2.0 * unit[:, 0]))
    choices = [0.001, 0.01, 0.1, 0.2]
    assert sweep.design.columns[SLIP] == [choices[int(u * 4)] for u in unit[:, 1]]


def test_set_values_are_fixed_at_every_point(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        f"""set: {{population.size: 1200, output.plots: false}}
parameters:
  {SPEED}: {{values: [2.5, 3.5]}}
""",
    )
    sweep = load_sweep_file(path)
    assert sweep.base.population.size == 1200
    point = derive(sweep.base, sweep.run(1, 0).values)
    assert point.movement.walking_speed_kmh == 3.5
    assert point.population.size == 1200
    assert point.output.plots is False


# --------------------------------------------------------------------------------------------
# Errors: every one names the file, the line and the key
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "parameters:\n  movement.walking_sped_kmh: {values: [3, 4]}\n",
            ":4: movement.walking_sped_kmh: unknown key 'walking_sped_kmh' "
            "(did you mean 'walking_speed_kmh'?)",
        ),
        (
            f"parameters:\n  {SPEED}: {{values: [3, 4]}}\nreplicate: 3\n",
            ":5: replicate: unknown key 'replicate' (did you mean 'replicates'?)",
        ),
        (
            f"parameters:\n  {SPEED}: {{values: [3, 4]}}\nreplicates: five\n",
            ":5: replicates: Input should be a valid integer (got 'five')",
        ),
        (
            f"parameters:\n  {SLIP}: {{values: [0.01, 1.5]}}\n",
            f":4: {SLIP}: Input should be less than or equal to 1 (got 1.5)",
        ),
        (
            "parameters:\n  authorities.vado_hondo_blockade.place:\n"
            "    {values: [vado_hondo, vado_ondo]}\n",
            ":4: authorities.vado_hondo_blockade.place: unknown place 'vado_ondo' "
            "(did you mean 'vado_hondo'?)",
        ),
        (
            f"parameters:\n  {SPEED}: {{range: [2, 4]}}\n",
            f":4: parameters.{SPEED}: a range in a grid design needs 'steps'",
        ),
        (
            f"parameters:\n  {SPEED}: {{range: [4, 2], steps: 3}}\n",
            f":4: parameters.{SPEED}: range must go from low to high (got [4, 2])",
        ),
        (
            f"parameters:\n  {SPEED}: {{range: [2, 4]}}\n"
            "design: {kind: sobol, base_points: 100}\n",
            ":5: design: base_points must be a power of 2",
        ),
        (
            f"parameters:\n  {SPEED}: {{range: [2, 4]}}\ndesign: {{kind: grd}}\n",
            ":5: design.kind: unknown kind 'grd' (did you mean 'grid'?); "
            "expected one of: grid, lhs, sobol",
        ),
        (
            f"parameters:\n  {SPEED}: {{range: [2, 4], steps: 3}}\n"
            "design: {kind: lhs, points: 9}\n",
            f":4: parameters.{SPEED}.steps: 'steps' is for grid designs",
        ),
        (
            f"set: {{{SPEED}: 3}}\nparameters:\n  {SPEED}: {{values: [3, 4]}}\n",
            f":5: parameters.{SPEED}: is also fixed in 'set'",
        ),
        (
            "set: {population.sise: 100}\nparameters:\n  " + SPEED + ": {values: [3, 4]}\n",
            ":3: population.sise: unknown key 'sise' (did you mean 'size'?)",
        ),
        (
            f"parameters:\n  {SPEED}: {{values: [3, fast]}}\n",
            f":4: parameters.{SPEED}: values mix numbers and text; give one kind",
        ),
        (
            f"parameters:\n  {SPEED}: {{values: [3, 4], label: a}}\n"
            f"  {SLIP}: {{values: [0.1], label: a}}\n",
            f":5: parameters.{SLIP}: label 'a' is already used by '{SPEED}'",
        ),
        (
            f"parameters:\n  {SPEED}: {{range: [1, 9], steps: 1000}}\n"
            f"  {SLIP}: {{range: [0.001, 0.1], steps: 1000}}\n"
            "  population.size: {range: [100, 200], steps: 100, integer: true}\n",
            ": design: 100,000,000 points x 1 replicates is more than 10,000,000 runs",
        ),
        ("parameters: {}\n", ":3: parameters: Dictionary should have at least 1 item"),
        (f"parameters:\n  {SPEED}: {{values: [3]}}\nseed: -1\n", ":5: seed: Input should be"),
    ],
)
def test_bad_sweep_files_get_one_located_error(tmp_path: Path, body: str, expected: str) -> None:
    path = write_sweep(tmp_path, body)
    found = problems_of(path)
    assert any(p.startswith(str(path)) and expected in p for p in found), found


def test_points_that_break_a_rule_together_are_named(tmp_path: Path) -> None:
    """Each start and end is fine alone; some combinations end a window before it starts."""
    path = write_sweep(
        tmp_path,
        """parameters:
  authorities.vado_hondo_blockade.active.start:
    hours_after: 2021-01-16T19:00:00-06:00
    values: [0, 30]
  authorities.vado_hondo_blockade.active.end:
    hours_after: 2021-01-16T19:00:00-06:00
    values: [20, 40]
""",
    )
    found = problems_of(path)
    assert len(found) == 1, found
    assert found[0].startswith(
        f"{path}:4: authorities.vado_hondo_blockade.active: at design point 2"
    )
    assert "the window ends" in found[0]


def test_a_missing_base_and_an_empty_file_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("name: s\nbase: nowhere.yaml\nparameters: {population.size: {values: [1]}}\n")
    assert problems_of(path) == [
        f"{path}:2: base: base scenario not found: looked for {tmp_path / 'nowhere.yaml'} "
        "(relative to the sweep file's directory) and for a shipped scenario named "
        "'nowhere.yaml'; give the base scenario's path relative to the sweep file, or an "
        "absolute path"
    ]
    path.write_text("")
    assert problems_of(path) == [f"{path}: file is empty; expected a YAML mapping of sections"]


def test_a_sweep_file_copied_elsewhere_finds_its_shipped_base(tmp_path: Path) -> None:
    """The shipped sweeps name their base relative to themselves (`../january-2021.yaml`); a
    copy in another folder has no such file beside it, so it reads the scenario the package
    ships under that file's name, and plans exactly what the shipped sweep plans."""
    shipped = REPO / "scenarios" / "sweeps" / "blockade-strength-duration.yaml"
    copy = tmp_path / "elsewhere" / "sweep.yaml"
    copy.parent.mkdir()
    copy.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    assert not (copy.parent / yaml.safe_load(copy.read_text())["base"]).exists()
    original, copied = load_sweep_file(shipped), load_sweep_file(copy)
    assert copied.base.source_file == str(REPO / "sim" / "data" / "scenarios" / "january-2021.yaml")
    without_source = {"source_file"}
    assert copied.base.model_dump(exclude=without_source) == original.base.model_dump(
        exclude=without_source
    )
    assert copied.design == original.design


def test_cli_reports_a_bad_sweep_with_exit_status_2_before_running(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, "parameters:\n  movement.walking_sped_kmh: {values: [3, 4]}\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out), "--workers", "1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == EXIT_INPUT_ERROR, done.stderr
    assert f"{path}:4: movement.walking_sped_kmh: unknown key" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_example_sweeps_are_valid_and_modest() -> None:
    files = sorted((REPO / "scenarios" / "sweeps").glob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        sweep = load_sweep_file(path)
        assert 0 < sweep.n_runs <= 1000, path
        assert math.isfinite(sweep.design.n_points)
