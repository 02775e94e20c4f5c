"""The data shipped inside the package (sim/data/, `sim.packaged`): every file is package data,
`caravan scenarios` lists it, a shipped name stands for its file in every command, `caravan init`
copies it out so that the copies run on their own, and the version is in what a run writes."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import sim
from sim import packaged
from sim.cli import main
from sim.errors import ScenarioError
from sim.results.tables import VERSION_KEY
from sim.scenario import load, load_located
from sim.sweep.plan import load_sweep_file
from sim.targets import available_target_sets, load_target_set

REPO = Path(__file__).resolve().parent.parent
EXIT_INPUT_ERROR = 2
TINY = ["--set", "population.size=300", "--set", "output.plots=false", "--quiet"]


def _data_files() -> set[Path]:
    return {
        p for p in packaged.data_dir().rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


def _editable_files() -> set[Path]:
    """What `caravan init` copies: the scenarios and seeds (not the borders the maps draw)."""
    roots = (packaged.scenarios_dir(), packaged.seeds_dir())
    return {p for p in _data_files() if any(p.is_relative_to(root) for root in roots)}


def test_every_data_file_is_package_data_of_the_wheel() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["sim"]
    carried = {p for pattern in patterns for p in (REPO / "sim").glob(pattern)}
    assert _data_files() <= carried
    assert len(_data_files()) >= 30  # scenarios, networks, sweeps, fits, target sets, sources


def test_the_repositorys_scenarios_and_seeds_are_links_to_the_package_data() -> None:
    assert os.readlink(REPO / "scenarios") == "sim/data/scenarios"
    assert os.readlink(REPO / "seeds") == "sim/data/seeds"
    assert packaged.scenarios_dir() == REPO / "sim" / "data" / "scenarios"


def test_scenarios_lists_every_shipped_file_and_target_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scenarios"]) == 0
    rows = {
        line.split("│")[1].strip() for line in capsys.readouterr().out.splitlines() if "│" in line
    }
    shipped = {
        p.relative_to(packaged.scenarios_dir()).with_suffix("").as_posix()
        for p in packaged.scenarios_dir().rglob("*.yaml")
    }
    assert len(shipped) == 14
    assert shipped | set(available_target_sets()) <= rows


def test_each_shipped_file_has_a_kind_and_a_one_line_description() -> None:
    kinds = {f.name: f.kind for f in packaged.shipped_files()}
    assert kinds["january-2021"] == "scenario"
    assert kinds["caravans/october-2020"] == "caravan context"
    assert kinds["caravans/behaviour"] == "behaviour"
    assert kinds["caravans/fits/joint"] == "calibrated behaviour"
    assert kinds["sweeps/border-force-crowd"] == "sweep"
    assert kinds["networks/central-america"] == "network"
    for shipped in packaged.shipped_files():
        assert 0 < len(shipped.description) <= 100
        assert "\n" not in shipped.description
    # a `description:` key wins over the header comment
    sweep = packaged.scenarios_dir() / "sweeps" / "border-force-crowd.yaml"
    assert (
        packaged.describe(sweep) == "El Florido border force x caravan size, January 2021 caravan."
    )


def test_a_network_without_description_is_described_by_its_header_comment() -> None:
    network = packaged.scenarios_dir() / "networks" / "central-america.yaml"
    assert packaged.describe(network) == (
        "Road network: San Pedro Sula (Honduras) through Guatemala to the Mexican border crossings."
    )


@pytest.mark.parametrize(
    ("text", "kinds", "expected"),
    [
        ("january-2021", packaged.SCENARIO_KINDS, "january-2021.yaml"),
        ("caravans/january-2021", packaged.SCENARIO_KINDS, "caravans/january-2021.yaml"),
        ("october-2020", packaged.SCENARIO_KINDS, "caravans/october-2020.yaml"),
        ("border-force-crowd", packaged.SWEEP_KINDS, "sweeps/border-force-crowd.yaml"),
        ("october-2020", packaged.BEHAVIOUR_KINDS, "caravans/fits/october-2020.yaml"),
        ("joint", packaged.BEHAVIOUR_KINDS, "caravans/fits/joint.yaml"),
    ],
)
def test_a_shipped_name_resolves_to_its_file(
    text: str, kinds: tuple[str, ...], expected: str
) -> None:
    assert packaged.resolve(text, kinds) == packaged.scenarios_dir() / expected


def test_a_path_is_kept_as_given_whether_or_not_it_exists(tmp_path: Path) -> None:
    assert packaged.resolve("scenarios/january-2021.yaml") == Path("scenarios/january-2021.yaml")
    assert packaged.resolve("nowhere/january-2021.yaml") == Path("nowhere/january-2021.yaml")
    local = tmp_path / "january-2021"  # a file without suffix beats the shipped name
    local.write_text("name: mine\n", encoding="utf-8")
    assert packaged.resolve(local) == local


def test_an_unknown_name_is_an_input_error_with_the_closest_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "january-2012"]) == EXIT_INPUT_ERROR
    assert capsys.readouterr().err == (
        "error: january-2012: not a file, nor the name of a shipped scenario or caravan context "
        "(did you mean 'january-2021'?); `caravan scenarios` lists the names\n"
    )
    assert main(["sweep", "border-force-crwd", "--out", "x", "--dry-run"]) == EXIT_INPUT_ERROR
    assert capsys.readouterr().err == (
        "error: border-force-crwd: not a file, nor the name of a shipped sweep (did you mean "
        "'border-force-crowd'?); `caravan scenarios` lists the names\n"
    )


def test_a_name_two_shipped_files_end_in_must_be_given_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "october-2020", "--behaviour", "jont"]) == EXIT_INPUT_ERROR
    assert capsys.readouterr().err == (
        "error: jont: not a file, nor the name of a shipped behaviour or calibrated behaviour "
        "(did you mean 'joint'?); `caravan scenarios` lists the names\n"
    )
    with pytest.raises(sim.errors.ScenarioError) as caught:
        packaged.resolve("october-2020", (*packaged.SCENARIO_KINDS, *packaged.BEHAVIOUR_KINDS))
    assert str(caught.value) == (
        "october-2020: names more than one shipped file (caravans/october-2020, "
        "caravans/fits/october-2020); give one of these names"
    )


def test_check_and_sweep_take_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "october-2020"]) == 0
    shipped = packaged.scenarios_dir() / "caravans" / "october-2020.yaml"
    assert capsys.readouterr().out.startswith(f"{shipped}: valid scenario 'caravan-october-2020'")
    assert main(["sweep", "border-force-crowd", "--out", "unused", "--dry-run"]) == 0
    assert "sweep 'border-force-crowd': grid design, 20 points" in capsys.readouterr().out


def test_run_by_name_from_any_directory_writes_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "january-2021", *TINY]) == 0
    (out,) = (tmp_path / "runs" / "january-2021").iterdir()
    assert capsys.readouterr().out == f"wrote runs/january-2021/{out.name}\n"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario_file"] == str(packaged.scenarios_dir() / "january-2021.yaml")
    assert summary["version"] == sim.package_version()
    assert summary["outcomes"]["departed"] == 300
    for table in ("timeseries", "places", "roads", "events"):
        metadata = pq.read_schema(out / f"{table}.parquet").metadata
        assert metadata[VERSION_KEY] == sim.package_version().encode()


def test_init_copies_every_shipped_file_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "mine")]) == 0
    lines = capsys.readouterr().out.splitlines()
    originals = sorted(_editable_files())
    copies = [tmp_path / "mine" / p.relative_to(packaged.data_dir()) for p in originals]
    assert lines[:-1] == [f"wrote {p}" for p in sorted(copies)]
    example = tmp_path / "mine" / "scenarios" / "january-2021.yaml"
    assert lines[-1] == f"{len(copies)} files; run one with: caravan run {example}"
    for original, copy in zip(originals, copies, strict=True):
        assert copy.read_bytes() == original.read_bytes()


def test_the_copies_run_on_their_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init", str(tmp_path)])
    scenarios = tmp_path / "scenarios"
    # The copies read the copies (extends:, network file:), not the package: an edit of the
    # copied base reaches the scenarios extending it, and the network is the copied one.
    base = scenarios / "january-2021-base.yaml"
    text = base.read_text(encoding="utf-8")
    base.write_text(text.replace("duration_h: 174", "duration_h: 100", 1), encoding="utf-8")
    scenario, doc = load_located(scenarios / "january-2021.yaml")
    assert scenario.time.duration_h == 100
    network = Path(os.path.normpath(scenarios / "networks" / "central-america.yaml"))
    assert doc.where[("network", "places")].file == str(network)
    for shipped in packaged.shipped_files():
        copy = scenarios / f"{shipped.name}.yaml"
        if shipped.kind in packaged.SCENARIO_KINDS:
            assert load(copy).source_file == str(copy)
        elif shipped.kind == "sweep":
            base_file = load_sweep_file(copy).base.source_file
            assert Path(base_file).resolve() == (scenarios / "january-2021.yaml").resolve()
    for name in available_target_sets():
        by_path = load_target_set(tmp_path / "seeds" / "targets" / f"{name}.yaml")
        assert by_path == load_target_set(name)
    out = tmp_path / "run"
    assert main(["run", str(scenarios / "january-2021.yaml"), "--out", str(out), *TINY]) == 0
    assert (
        json.loads((out / "summary.json").read_text(encoding="utf-8"))["outcomes"]["departed"]
        == 300
    )


def test_init_refuses_to_overwrite_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init", str(tmp_path)])
    edited = tmp_path / "scenarios" / "january-2021.yaml"
    edited.write_text("name: edited\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["init", str(tmp_path)]) == EXIT_INPUT_ERROR
    first = tmp_path / "scenarios" / "caravans" / "behaviour.yaml"
    assert capsys.readouterr().err == (
        f"error: {first} and {len(_editable_files()) - 1} more files exist; pass --overwrite to "
        "replace them, or choose another directory\n"
    )
    assert edited.read_text(encoding="utf-8") == "name: edited\n"
    assert main(["init", str(tmp_path), "--overwrite"]) == 0
    assert edited.read_bytes() == (packaged.scenarios_dir() / "january-2021.yaml").read_bytes()


def test_export_and_validate_take_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = ["--set", "population.size=300"]
    assert main(["export", "flee", "january-2021", "--out", str(tmp_path / "flee"), *small]) == 0
    assert (tmp_path / "flee" / "input_csv" / "locations.csv").is_file()
    validate = ["validate", "october-2020", "--targets", "october-2020", "--replicates", "1"]
    assert main([*validate, "--workers", "1", "--behaviour", "joint"]) == 0
    shipped = packaged.scenarios_dir() / "caravans" / "october-2020.yaml"
    assert f"{shipped}: 'caravan-october-2020' against the 10 figures of 'october-2020'" in (
        capsys.readouterr().out
    )


def test_figures_name_the_version_that_drew_them(tmp_path: Path) -> None:
    from matplotlib.figure import Figure
    from PIL import Image

    from sim.figures import save

    figure = Figure()
    figure.subplots().plot([0, 1], [1, 0])
    png, pdf, svg = save({"f.png": figure, "f.pdf": figure, "f.svg": figure}, tmp_path)
    drawn_by = f"caravan-sim {sim.package_version()}"
    with Image.open(png) as image:
        assert image.info["Software"] == drawn_by
    creator = svg.read_text(encoding="utf-8").split("<dc:creator>")[1].split("</dc:creator>")[0]
    assert drawn_by in creator
    assert drawn_by.encode() in pdf.read_bytes()


def test_a_scenario_anywhere_extends_a_shipped_one_by_name(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\nextends: january-2021\npopulation:\n  size: 5000\n")
    scenario = load(mine)
    shipped = load(packaged.resolve("january-2021"))
    assert scenario.population.size == 5000
    assert scenario.network == shipped.network
    assert scenario.authorities == shipped.authorities


def test_an_unknown_name_to_extend_is_located_with_the_closest_name(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\nextends: januari-2021\n")
    with pytest.raises(ScenarioError) as caught:
        load(mine)
    assert str(caught.value) == (
        f"{mine}:2: extends: base scenario januari-2021 not found: not a file, nor the name of "
        "a shipped scenario or caravan context or behaviour or calibrated behaviour (did you "
        "mean 'january-2021'?); `caravan scenarios` lists the names"
    )


def test_a_path_to_extend_is_still_a_path(tmp_path: Path) -> None:
    """A name with a .yaml suffix is a path, missing or not: a shipped file of that name is
    not taken in its place."""
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\nextends: january-2021.yaml\n")
    with pytest.raises(ScenarioError, match=r"base scenario january-2021\.yaml not found$"):
        load(mine)


def test_shipped_names_and_the_data_folder(tmp_path: Path) -> None:
    shipped = packaged.resolve("caravans/october-2020")
    assert packaged.shipped_name(shipped) == "caravans/october-2020"
    assert packaged.shipped_name(REPO / "scenarios" / "january-2021.yaml") == "january-2021"
    assert packaged.shipped_name(tmp_path / "january-2021.yaml") is None
    assert packaged.is_inside_data(shipped)
    assert not packaged.is_inside_data(tmp_path / "calibrated.yaml")
