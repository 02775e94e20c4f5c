"""The library of caravans (`scenarios/caravans/`): one behaviour file shared by every caravan,
and one file per caravan that sets only its context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import sim
from sim.errors import ScenarioError
from sim.rules import KINDS

CARAVANS = Path(__file__).resolve().parent.parent / "scenarios" / "caravans"
BEHAVIOUR = CARAVANS / "behaviour.yaml"
CONTEXTS = sorted(p for p in CARAVANS.glob("*.yaml") if p != BEHAVIOUR)


def leaf_keys(data: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every key path of a YAML mapping down to its values (lists and scalars are leaves)."""
    if not isinstance(data, dict):
        return {prefix}
    return {leaf for key, value in data.items() for leaf in leaf_keys(value, (*prefix, key))}


def test_the_library_has_both_caravans() -> None:
    assert [p.stem for p in CONTEXTS] == ["january-2021", "october-2020"]


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda p: p.stem)
def test_a_caravan_sets_only_its_context(context: Path) -> None:
    """No key of the shared behaviour is set again by a caravan: one behaviour for all."""
    data = yaml.safe_load(context.read_text(encoding="utf-8"))
    assert data["extends"] == BEHAVIOUR.name
    behaviour = leaf_keys(yaml.safe_load(BEHAVIOUR.read_text(encoding="utf-8")))
    overlap = {".".join(k) for k in leaf_keys(data) & behaviour}
    assert not overlap, f"{context.name} sets behaviour keys: {sorted(overlap)}"
    # and whatever the caravan leaves to the behaviour is read from it
    scenario = sim.load(context)
    assert (
        scenario.movement.walking_speed_kmh
        == yaml.safe_load(BEHAVIOUR.read_text(encoding="utf-8"))["movement"]["walking_speed_kmh"]
    )
    # no rule entry gives a reaction of its own: how people react is the behaviour's
    for name, entry in data["authorities"].items():
        rule = KINDS[entry["kind"]]
        own = set(entry) & {*rule.reactions, *rule.road_reactions}
        assert not own, f"{context.name}: authorities.{name} sets reactions {sorted(own)}"


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda p: p.stem)
def test_a_caravan_runs_and_counts_everyone_once(context: Path) -> None:
    results = sim.run(sim.load(context, ["population.size=3000"]), seed=1)
    out = results.outcomes
    partition = results.layout.partition
    assert sum(out[k] for k in partition) == out["departed"] == 3000
    assert (
        out["returned_after_entering"] + out["turned_back_at_border"]
        == (out["returned_voluntarily"])
    )


def test_the_behaviour_file_is_not_a_scenario_on_its_own() -> None:
    with pytest.raises(ScenarioError, match=r"behaviour\.yaml:\d+: name: missing required key"):
        sim.load(BEHAVIOUR)


def test_a_caravan_is_compared_with_its_own_figures(tmp_path: Path) -> None:
    from sim.cli import main

    out = tmp_path / "october"
    args = ["run", str(CARAVANS / "october-2020.yaml"), "--out", str(out)]
    assert main([*args, "--set", "population.size=3000", "--quiet"]) == 0
    saved = sim.load_run(out)
    assert saved.scenario.output.compare_with == ["october-2020"]
    # the figures were drawn beside October 2020's figures only, within the run's dates
    assert (out / "timeseries.png").is_file()


def test_an_unknown_target_set_to_compare_with_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        f"extends: {CARAVANS / 'october-2020.yaml'}\noutput:\n  compare_with: [octobre-2020]\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value) == (
        f"{path}:3: output.compare_with[0]: unknown target set 'octobre-2020' (did you mean "
        "'october-2020'?); expected one of: igm-january-2021, october-2020, official, "
        "seed-article, or a path to a YAML file"
    )


@pytest.mark.parametrize("fit", ["joint", "january-2021", "october-2020"])
def test_a_shipped_fit_sets_the_calibrated_point_over_either_caravan(fit: str) -> None:
    import json

    behaviour = CARAVANS / "fits" / f"{fit}.yaml"
    summary = json.loads((CARAVANS / "fits" / f"{fit}.summary.json").read_text(encoding="utf-8"))
    point = {k: p["calibrated_value"] for k, p in summary["parameters"].items()}
    for context in CONTEXTS:
        scenario = sim.load(context, behaviour=behaviour)
        assert scenario.movement.walking_speed_kmh == point["walking_speed_kmh"]
        prevention = scenario.authorities["state_of_prevention"]
        assert (
            KINDS["state_of_prevention"].reaction_of(
                prevention, "give_up_per_h", scenario.behaviour
            )
            == point["prevention_give_up_per_h"]
        )
