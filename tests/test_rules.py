"""The rule framework: every kind is registered with what it owns, a scenario naming an unknown
kind gets a located error listing the kinds, a kind defined in another package registers through
the entry point group, and the model's agents and step phases are what they say."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.model import PHASES, CaravanModel, describe_step, release
from sim.rules import ENTRY_POINT_GROUP, KINDS, MapMark, Rule
from sim.rules.effects import EFFECT_NAMES, PLACE_EFFECTS, ROAD_EFFECTS, Effects, describe

REPO = Path(__file__).resolve().parent.parent
USER_FILE = REPO / "tests" / "baseline" / "files" / "user-0.1.yaml"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_owns_its_schema_effects_and_map_mark(kind: str) -> None:
    cls = KINDS[kind]
    assert cls.kind == kind
    literal = cls.Spec.model_fields["kind"].annotation
    assert typing.get_args(literal) == (kind,)  # the schema answers to this kind alone
    assert cls.writes and cls.writes <= EFFECT_NAMES
    assert isinstance(cls.map_mark, MapMark)
    assert (cls.holds_as is not None) == ("hold" in cls.writes)
    note = cls.flee_note(None, "X is closed from day 0 to day 1") if cls.flee_closes else None
    assert note is None or note.treatment == "approximated"


def test_a_rule_writing_an_effect_outside_the_vocabulary_is_refused() -> None:
    with pytest.raises(TypeError, match="writes unknown effects \\['warp_speed'\\]"):

        class Teleport(Rule):  # pragma: no cover - refused when defined
            kind = "teleport_test"
            writes = frozenset({"warp_speed"})


def test_a_road_reaction_that_is_no_key_of_the_spec_is_refused() -> None:
    with pytest.raises(TypeError, match="road reactions \\['calm_per_h'\\] are not keys of"):

        class Calm(Rule):  # pragma: no cover - refused when defined
            kind = "calm_test"
            Spec = KINDS["state_of_prevention"].Spec
            writes = frozenset({"give_up_per_h"})
            road_reactions = MappingProxyType({"calm_per_h": 0.0})


def test_effects_start_at_their_defaults_and_step_effects_reset() -> None:
    fx = Effects(n_places=3, n_roads=2)
    for effect in PLACE_EFFECTS:
        assert (fx.place[effect.name] == effect.default).all(), effect.name
    for effect in ROAD_EFFECTS:
        assert (fx.road[effect.name] == effect.default).all(), effect.name
    assert not fx.on_roads()
    fx.place["release"][1] = 1
    fx.place["hold"][1] = 2
    fx.road["closed"][0] = 1
    assert fx.on_roads()
    fx.start_step()
    assert fx.place["release"][1] == 0  # lasts a step
    assert fx.place["hold"][1] == 2  # lasts until undone
    table = describe()
    assert all(f"`{name}`" in table for name in EFFECT_NAMES)


def _write_with(tmp_path: Path, old: str, new: str) -> Path:
    text = USER_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "scenario.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_an_unknown_kind_is_located_and_the_kinds_are_listed(tmp_path: Path) -> None:
    path = _write_with(tmp_path, "kind: checkpoints", "kind: checkpoint")
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value) == (
        f"{path}:{line_of(path, 'kind: checkpoint')}: authorities.road_checks.kind: unknown "
        "kind 'checkpoint' (did you mean 'checkpoints'?); expected one of: " + ", ".join(KINDS)
    )


def test_a_missing_kind_is_located_at_its_entry(tmp_path: Path) -> None:
    path = _write_with(tmp_path, "    kind: checkpoints\n", "")
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value) == (
        f"{path}:{line_of(path, 'road_checks:')}: authorities.road_checks: missing 'kind'; "
        "expected one of: " + ", ".join(KINDS)
    )


CURFEW = '''
"""A rule of a researcher's own package: no rides into its places during its window."""

from typing import Literal

from sim.rules import AtPlaces, MapMark, Rule


class CurfewSpec(AtPlaces):
    kind: Literal["curfew"]


class Curfew(Rule):
    kind = "curfew"
    Spec = CurfewSpec
    writes = frozenset({"ride_factor"})
    map_mark = MapMark("o", "black", 30.0, "curfew")

    def apply(self, fx, ctx):
        for p in self.places:
            fx.place["ride_factor"][p] = 0.0

    def undo(self, fx, ctx):
        for p in self.places:
            fx.place["ride_factor"][p] = 1.0
'''

USE_CURFEW = """
import json, sys
import sim
from sim.rules import KINDS
base = sim.load(sys.argv[1], ["population.size=400"])
curfew = sim.derive(base, {"authorities.no_rides": {
    "kind": "curfew", "places": [p.id for p in base.network.places],
    "active": {"start": base.time.start, "end": base.time.start.replace(year=2030)}}})
print(json.dumps({
    "kinds": list(KINDS),
    "with": sim.run(curfew, seed=1).outcomes,
    "without": sim.run(base, seed=1).outcomes,
}))
"""


def _python_with(path: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter with `path` (a package of rules) on its path."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin", "HOME": str(path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_a_kind_from_another_package_registers_through_the_entry_point(tmp_path: Path) -> None:
    (tmp_path / "my_rules.py").write_text(CURFEW, encoding="utf-8")
    dist = tmp_path / "my_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ncurfew = my_rules\n")
    done = _python_with(tmp_path, USE_CURFEW, str(USER_FILE))
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert "curfew" in found["kinds"]
    # Without rides the caravan is slower: fewer reach the Mexican border.
    assert found["with"]["reached_mexican_border"] < found["without"]["reached_mexican_border"]


def test_step_phases_are_the_models_methods_in_order() -> None:
    assert [p.name for p in PHASES] == [
        "rule_changes",
        "authorities",
        "route_weights",
        "migrants",
        "record",
    ]
    assert all(callable(getattr(CaravanModel, f"_{p.name}")) for p in PHASES)
    lines = describe_step().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"{i}. {p.name}" for i, p in enumerate(PHASES, 1)
    ]


def test_location_and_authority_agents_report_the_state_of_the_last_step() -> None:
    scenario = sim.load(USER_FILE)
    model = CaravanModel(scenario, seed=0, threads=False)
    try:
        for _ in range(60):  # into the border force's window (from hour 28)
            model.step()
        held = {loc.place_id: loc.held for loc in model.locations if loc.held}
        assert held, "someone is held by hour 60"
        series = model.results().series()
        assert sum(held.values()) == series["n_held_border"][-1] + series["n_held_blockade"][-1]
        present = sum(loc.present for loc in model.locations)
        assert present == model.results().at_places("n_at_place")[-1].sum()
        in_force = {loc.place_id: loc.rules_in_force for loc in model.locations}
        assert in_force["north_gate"] == ["gate_force"]  # testing there begins on 2 March
        assert "road_checks" in in_force["market"]
        assert {a.kind for a in model.authorities} == {
            "border_control",
            "blockade",
            "checkpoints",
            "health_posts",
        }
        assert all(loc.awaiting_transport == 0 for loc in model.locations)
    finally:
        release(model)


def test_rules_read_nothing_but_their_step_context() -> None:
    """A rule holds no model: what it may read comes in the StepContext of each call."""
    scenario = sim.load(USER_FILE)
    model = CaravanModel(scenario, seed=0, threads=False)
    try:
        for authority in model.authorities:
            assert not any(isinstance(v, CaravanModel) for v in vars(authority.rule).values())
    finally:
        release(model)


def test_an_entry_point_module_that_fails_to_import_is_named(tmp_path: Path) -> None:
    dist = tmp_path / "broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken = no_such_module\n")
    done = _python_with(tmp_path, "import sim.rules")
    assert done.returncode != 0
    assert "no_such_module" in done.stderr


def test_the_readme_shows_the_effect_vocabulary_as_declared() -> None:
    assert describe() in (REPO / "README.md").read_text(encoding="utf-8")


def _sentinel_effects(n_places: int, n_roads: int) -> Effects:
    """Effects whose every field holds a value no rule writes, so that any write shows."""
    fx = Effects(n_places, n_roads)
    for table in (fx.place, fx.road):
        for name in table.dtype.names or ():
            table[name] = 0.123456 if table.dtype[name].kind == "f" else 99
    return fx


def test_a_rule_writes_no_effect_it_does_not_declare() -> None:
    """Every effect a rule changes, opening, acting for a step with a crowd at its places, or
    closing, is among its `writes` (the overlap check relies on them)."""
    from sim.rules import StepContext
    from sim.rules.effects import PLACE_EFFECTS, ROAD_EFFECTS

    base = sim.load(USER_FILE)
    window = {"start": datetime(2022, 3, 2), "end": datetime(2022, 3, 5)}
    scenario = sim.derive(
        base,
        {
            "authorities.buses": {
                "kind": "return_transport",
                "places": ["valley"],
                "active": window,
                "capacity_per_h": 10,
                "travel_h": 2,
            },
            "authorities.region": {
                "kind": "state_of_prevention",
                "places": [p.id for p in base.network.places],
                "active": window,
                "give_up_per_h": 0.01,
                "ride_factor": 0.5,
            },
            "authorities.closure": {
                "kind": "road_closure",
                "roads": [["fork", "north_gate"]],
                "active": window,
            },
        },
    )
    model = CaravanModel(scenario, seed=0, threads=False)
    try:
        n = model.network.n_places
        crowd = np.full((n, model.place_counts.shape[1]), 500, dtype=np.int64)
        ctx = StepContext(model.key, 40, 40.0, 1.0, crowd)
        assert {a.kind for a in model.authorities} == set(KINDS)
        for authority in model.authorities:
            rule = authority.rule
            changed: set[str] = set()
            for closes in (True, False):
                fx = _sentinel_effects(n, model.network.n_roads)
                before = fx.place.copy(), fx.road.copy()
                rule.begin(fx, ctx)
                rule.before_step(fx, ctx)
                if closes:
                    rule.end(fx, ctx)
                for table, old, vocabulary in (
                    (fx.place, before[0], PLACE_EFFECTS),
                    (fx.road, before[1], ROAD_EFFECTS),
                ):
                    changed |= {e.name for e in vocabulary if (table[e.name] != old[e.name]).any()}
            assert changed, rule.kind
            assert changed <= rule.writes, (rule.kind, changed - rule.writes)
    finally:
        release(model)


def test_caravan_rules_lists_phases_kinds_and_effects(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for name in (*[p.name for p in PHASES], *KINDS, *EFFECT_NAMES):
        assert name in out, name
