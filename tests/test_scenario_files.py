"""The shipped scenarios: they load; every number cites a source, says assumption or names the
calibration that fitted it; and `extends:`, `--set` and `to_yaml()` behave."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from sim.errors import ScenarioError
from sim.scenario import Scenario, load

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = ROOT / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.yaml"))
JANUARY = SCENARIO_DIR / "january-2021.yaml"
BASE = SCENARIO_DIR / "january-2021-base.yaml"

NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
# After "source:", comma-separated ids, up to the first space or parenthesis that is not
# part of ", ".
SOURCE_IDS = re.compile(r"source:\s*([\w.-]+(?:\s*,\s*[\w.-]+)*)")


def test_scenarios_are_shipped() -> None:
    assert {JANUARY, BASE, SCENARIO_DIR / "january-2021-official.yaml"} <= set(SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenario_loads(path: Path) -> None:
    scenario = load(path)
    assert isinstance(scenario, Scenario)
    assert scenario.source_file == str(path)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_caravan_check_accepts_shipped_scenario(path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "valid scenario" in result.stdout
    assert result.stderr == ""


# --------------------------------------------------------------------------------------------
# Every number names a source or says assumption
# --------------------------------------------------------------------------------------------


def _is_number(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag in NUMBER_TAGS


def _valued_nodes(node: yaml.Node, path: str = "") -> list[tuple[str, yaml.Node]]:
    """Every value written on one line: scalars, and flow lists (`[1, 2]`) as a whole."""
    if isinstance(node, yaml.MappingNode):
        out = []
        for key, value in node.value:
            out += _valued_nodes(value, f"{path}.{key.value}" if path else str(key.value))
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.flow_style:
            return [(path, node)]
        out = []
        for i, item in enumerate(node.value):
            out += _valued_nodes(item, f"{path}[{i}]")
        return out
    return [(path, node)]


def _numeric(node: yaml.Node) -> bool:
    """A number, or a list of numbers."""
    if isinstance(node, yaml.SequenceNode):
        return bool(node.value) and all(_is_number(item) for item in node.value)
    return _is_number(node)


def _comment_after(lines: list[str], node: yaml.Node) -> str:
    """The comment on the line where `node` ends, after it; '' if none."""
    rest = lines[node.end_mark.line][node.end_mark.column :].strip()
    return rest[1:].strip() if rest.startswith("#") else ""


def _values_with_comments(path: Path) -> list[tuple[str, int, yaml.Node, str]]:
    text = path.read_text(encoding="utf-8")
    lines = [*text.splitlines(), ""]
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert root is not None, f"{path} is empty"
    return [
        (key, node.start_mark.line + 1, node, _comment_after(lines, node))
        for key, node in _valued_nodes(root)
    ]


def _source_ids() -> set[str]:
    data = yaml.safe_load((ROOT / "seeds" / "sources.yaml").read_text(encoding="utf-8"))
    return set(data["sources"])


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_number_names_a_source_or_says_assumption(path: Path) -> None:
    numeric = [v for v in _values_with_comments(path) if _numeric(v[2])]
    assert numeric, "expected numbers in a scenario"
    bare = [
        f"{path.name}:{line}: {key}"
        for key, line, _, comment in numeric
        if not ("source:" in comment or "assumption" in comment or _calibrated(comment))
    ]
    assert bare == [], "numbers without 'source:', 'assumption' or 'calibrated' in their comment"


def _calibrated(comment: str) -> bool:
    """A comment `caravan calibrate` wrote: "calibrated (<target set>): posterior median ..."."""
    return (
        re.match(r"calibrated \([\w-]+\): posterior median \S+, 90% interval \[", comment)
        is not None
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_calibrated_values_name_their_calibration(path: Path) -> None:
    """A value written by `caravan calibrate` says so, and the file says which run and targets."""
    calibrated = [v for v in _values_with_comments(path) if _calibrated(v[3])]
    if not calibrated:
        return
    text = path.read_text(encoding="utf-8")
    assert "# Calibrated by `caravan calibrate` to the target set '" in text


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_cited_source_exists(path: Path) -> None:
    known = _source_ids()
    cited = 0
    unknown = []
    for key, line, _, comment in _values_with_comments(path):
        for match in SOURCE_IDS.finditer(comment):
            for source_id in re.split(r"\s*,\s*", match.group(1)):
                cited += 1
                if source_id not in known:
                    unknown.append(f"{path.name}:{line}: {key}: {source_id}")
    assert unknown == [], "source ids not in seeds/sources.yaml"
    if path == BASE:
        assert cited > 0


def test_source_id_parsing() -> None:
    comment = "source: ap, afp, efe (set up the evening); assumption: a handful; source: iom"
    found = [re.split(r"\s*,\s*", m.group(1)) for m in SOURCE_IDS.finditer(comment)]
    assert found == [["ap", "afp", "efe"], ["iom"]]


def test_the_comment_rule_sees_a_missing_comment(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "a: 1  # assumption: fine\nb:\n  c: [0.5, 0.5]\n  d: 2021-01-01  # no number\n"
        "e: text  # source: nowhere-known\n",
        encoding="utf-8",
    )
    found = {
        key: (line, comment)
        for key, line, node, comment in _values_with_comments(path)
        if _numeric(node)
    }
    assert found == {"a": (1, "assumption: fine"), "b.c": (3, "")}


# --------------------------------------------------------------------------------------------
# extends:
# --------------------------------------------------------------------------------------------


def _copy_base(tmp_path: Path) -> Path:
    """january-2021-base.yaml (a whole scenario) and its networks/ in tmp_path/base/."""
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    shutil.copy(BASE, base_dir / BASE.name)
    shutil.copytree(SCENARIO_DIR / "networks", base_dir / "networks")
    return base_dir / BASE.name


def _without(data: dict[str, Any], *paths: tuple[str, ...]) -> dict[str, Any]:
    for path in paths:
        node = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
    return data


def test_extends_changes_one_value_and_keeps_the_rest(tmp_path: Path) -> None:
    base_path = _copy_base(tmp_path)
    child_dir = tmp_path / "variants"
    child_dir.mkdir()
    child_path = child_dir / "smaller.yaml"
    child_path.write_text(
        "extends: ../base/january-2021-base.yaml\npopulation:\n  size: 5000\n", encoding="utf-8"
    )
    assert not (child_dir / "networks").exists()  # the network must be found from the base

    base = load(base_path)
    child = load(child_path)
    assert child.population.size == 5000
    assert base.population.size == 8000
    assert child.network == base.network
    assert child.population.waves == base.population.waves
    assert child.authorities == base.authorities
    assert child.source_file == str(child_path)
    assert _without(child.model_dump(), ("population", "size"), ("source_file",)) == _without(
        base.model_dump(), ("population", "size"), ("source_file",)
    )


def test_a_child_naming_free_parameters_calibrates_those_alone(tmp_path: Path) -> None:
    """calibration.parameters is replaced whole, the rest of calibration merges key by key."""
    base_path = _copy_base(tmp_path)
    child_path = base_path.parent / "fewer.yaml"
    child_path.write_text(
        "extends: january-2021-base.yaml\n"
        "calibration:\n"
        "  particles: 50\n"
        "  parameters:\n"
        "    health.prevalence: {prior: uniform, range: [0.1, 0.3]}\n",
        encoding="utf-8",
    )
    base = load(base_path)
    child = load(child_path)
    assert base.calibration is not None and child.calibration is not None
    assert len(base.calibration.parameters) > 1
    assert list(child.calibration.parameters) == ["health.prevalence"]
    assert child.calibration.parameters["health.prevalence"].range == [0.1, 0.3]
    assert child.calibration.particles == 50
    assert child.calibration.generations == base.calibration.generations


def test_extends_in_the_same_directory_and_chained(tmp_path: Path) -> None:
    base_path = _copy_base(tmp_path)
    child = base_path.parent / "child.yaml"
    child.write_text(
        "extends: january-2021-base.yaml\nname: child\nmovement:\n  walking_speed_kmh: 4.5\n",
        encoding="utf-8",
    )
    sub = tmp_path / "deeper" / "still"
    sub.mkdir(parents=True)
    grandchild = sub / "grandchild.yaml"
    grandchild.write_text("extends: ../../base/child.yaml\nname: grandchild\n", encoding="utf-8")
    loaded = load(grandchild)
    base = load(base_path)
    assert loaded.name == "grandchild"
    assert base.movement.walking_speed_kmh != 4.5  # the override is visible
    assert loaded.movement.walking_speed_kmh == 4.5
    assert loaded.movement.ride_chance_per_h == base.movement.ride_chance_per_h
    assert loaded.network == base.network


def test_extends_error_in_kept_base_value_names_the_base(tmp_path: Path) -> None:
    base_path = _copy_base(tmp_path)
    text = base_path.read_text(encoding="utf-8")
    line = next(i + 1 for i, s in enumerate(text.splitlines()) if "walking_speed_kmh:" in s)
    base_path.write_text(
        re.sub(r"walking_speed_kmh: [0-9.]+", "walking_speed_kmh: -4.0", text), encoding="utf-8"
    )
    child = tmp_path / "child.yaml"
    child.write_text("extends: base/january-2021-base.yaml\nname: child\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(child)
    assert str(info.value).startswith(f"{base_path}:{line}: movement.walking_speed_kmh:")


# --------------------------------------------------------------------------------------------
# --set and to_yaml()
# --------------------------------------------------------------------------------------------

BLOCKADE_END = "authorities.vado_hondo_blockade.active.end=2021-01-17T08:00:00-06:00"


def test_set_population_size() -> None:
    base = load(JANUARY)
    changed = load(JANUARY, ["population.size=5000"])
    assert changed.population.size == 5000
    assert _without(changed.model_dump(), ("population", "size")) == _without(
        base.model_dump(), ("population", "size")
    )


def test_set_blockade_end() -> None:
    changed = load(JANUARY, [BLOCKADE_END])
    blockade = changed.authorities["vado_hondo_blockade"]
    assert blockade.active.end == datetime(2021, 1, 17, 8, tzinfo=timezone(timedelta(hours=-6)))
    assert blockade.active.start == load(JANUARY).authorities["vado_hondo_blockade"].active.start


def test_set_is_applied_after_extends(tmp_path: Path) -> None:
    base_path = _copy_base(tmp_path)
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: base/january-2021-base.yaml\npopulation:\n  size: 5000\n", encoding="utf-8"
    )
    assert load(child, ["population.size=6000"]).population.size == 6000
    assert load(base_path, ["population.size=6000"]).population.size == 6000


@pytest.mark.parametrize(
    "overrides", [[], ["population.size=5000", BLOCKADE_END]], ids=["plain", "with-set"]
)
def test_to_yaml_reloads_to_an_equal_scenario(tmp_path: Path, overrides: list[str]) -> None:
    scenario = load(JANUARY, overrides)
    dumped = tmp_path / "resolved.yaml"
    dumped.write_text(scenario.to_yaml(), encoding="utf-8")
    again = load(dumped)
    assert again.model_dump(exclude={"source_file"}) == scenario.model_dump(exclude={"source_file"})


def test_to_yaml_keeps_overrides_and_drops_source_file() -> None:
    data = yaml.safe_load(load(JANUARY, ["population.size=5000"]).to_yaml())
    assert data["population"]["size"] == 5000
    assert "source_file" not in data
    assert "extends" not in data
    assert set(data["network"]) == {"places", "roads"}  # the network is written inline


# --------------------------------------------------------------------------------------------
# Frozen
# --------------------------------------------------------------------------------------------


def test_resolved_scenario_is_frozen() -> None:
    scenario = load(JANUARY)
    with pytest.raises(ValidationError, match="frozen"):
        scenario.name = "other"
    with pytest.raises(ValidationError, match="frozen"):
        scenario.population.size = 1
    with pytest.raises(ValidationError, match="frozen"):
        scenario.authorities["vado_hondo_blockade"].active.end = datetime(2021, 1, 17)
    with pytest.raises(ValidationError, match="frozen"):
        scenario.network.places[0].lat = 0.0
    assert scenario == load(JANUARY)
