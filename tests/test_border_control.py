"""Border forces that thin out or stand down once overrun (`force_share_after_breakthrough`):
hand-computed cases on the micro network A -10 km- B -20 km- C (conftest.py), and the January
2021 scenario.

On the micro network everyone walks 5 km/h with no rides: a wave leaving at hour h reaches B,
the crossing, at the end of the step [h + 1, h + 2) (recorded at hour h + 2). The force at B
has so large a push rate that any crowd breaks through with chance 1 (exp(-x) is 0 in floating
point), so a crowd held at the end of a step breaks through in the next: those held go on, and
arrivals in that step pass. Results' arrays are indexed by step: index k is recorded at hour
k + 1."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DROP

import sim
from sim.cli import main
from sim.errors import ScenarioError
from sim.model import CaravanModel, release
from sim.population import ARRIVED
from sim.results import outcomes_until
from sim.rules.border_control import BorderControl

NEVER_GIVE_UP = {"scale_h": 1.0e12, "shape": 1.0, "return_share": 1.0}
OVERWHELMING_PUSH_PER_H = 1.0e6  # any crowd against any force breaks through at once
KEY = "force_share_after_breakthrough"


def border_force(**keys: Any) -> dict[str, Any]:
    return {
        "kind": "border_control",
        "place": "B",
        "active": [-1, 100],
        "force": 100,
        "push_rate_per_h": OVERWHELMING_PUSH_PER_H,
        "give_up": NEVER_GIVE_UP,
        **keys,
    }


def waves(*leaving: tuple[float, int]) -> dict[str, Any]:
    """Waves leaving A at the given hours with the given numbers of people (and the micro
    scenario's own wave dropped)."""
    return {"only": DROP, **{f"w{k}": {"at": h, "count": n} for k, (h, n) in enumerate(leaving)}}


def scenario_with(
    make_scenario: Any, force: dict[str, Any], *leaving: tuple[float, int], hours: int = 12
) -> sim.Scenario:
    return make_scenario(
        {
            "time": {"duration_h": hours},
            "population": {"size": sum(n for _, n in leaving), "waves": waves(*leaving)},
            "authorities": {"force": force},
        }
    )


def events_of(results: sim.Results, *kinds: str) -> list[tuple[float, str, int, str]]:
    return [
        (e["t_h"], e["kind"], e["count"], e["detail"]) for e in results.events if e["kind"] in kinds
    ]


BREAKS = "crowd_breaks_through"
STANDS_DOWN = "force_stands_down"


# --------------------------------------------------------------------------------------------
# Hand-computed on the micro network
# --------------------------------------------------------------------------------------------


def test_a_force_with_nothing_left_stands_down_at_the_first_breakthrough(
    make_scenario: Any,
) -> None:
    # 5 leave at hour 0: held at B at hour 2, break through in the step [2, 3), and the force
    # stands down. 7 leave at hour 5: they reach B at the end of [6, 7) and pass (entered at
    # hour 7), where a force that kept its strength holds them until the next step.
    scenario = scenario_with(make_scenario, border_force(**{KEY: 0.0}), (0, 5), (5, 7))
    model = CaravanModel(scenario, seed=0)
    try:
        results = model.run()
        series = results.series()
        assert series["n_held_border"].tolist() == [0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        assert series["cum_held"].tolist() == [0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]
        assert series["cum_released"].tolist() == [0, 0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]
        assert series["cum_entered_guatemala"].tolist() == [0, 0, 5, 5, 5, 5] + [12] * 6
        assert events_of(results, BREAKS, STANDS_DOWN) == [
            (2.0, BREAKS, 5, ""),
            (2.0, STANDS_DOWN, 0, "0 of 100 left"),
        ]
        rule = model.authorities[0].rule
        assert isinstance(rule, BorderControl)
        assert not rule.standing and rule.force_left == 0.0
        assert results.outcomes["reached_mexican_border"] == 12
        assert (model.migrants.status == ARRIVED).all()
    finally:
        release(model)


def test_without_the_key_the_force_holds_every_crowd_at_full_strength(make_scenario: Any) -> None:
    """The same people as above against a force that keeps its strength: the later crowd is
    held for a step, and each crowd breaks through against the whole force."""
    scenario = scenario_with(make_scenario, border_force(), (0, 5), (5, 7))
    model = CaravanModel(scenario, seed=0)
    try:
        results = model.run()
        series = results.series()
        assert series["n_held_border"].tolist() == [0, 5, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0]
        assert series["cum_entered_guatemala"].tolist() == [0, 0, 5, 5, 5, 5, 5, 12, 12, 12, 12, 12]
        assert events_of(results, BREAKS, STANDS_DOWN) == [
            (2.0, BREAKS, 5, ""),
            (7.0, BREAKS, 7, ""),
        ]
        rule = model.authorities[0].rule
        assert isinstance(rule, BorderControl)
        assert rule.standing and rule.force_left == 100.0
    finally:
        release(model)


def test_a_force_halving_at_each_breakthrough_stands_down_below_one_person(
    make_scenario: Any,
) -> None:
    # A force of 4, halved at each breakthrough: 4 -> 2 -> 1 -> 0.5, below one person at the
    # third. Waves of 3 leave every 2 hours: each is held at B at the end of [1, 2), [3, 4),
    # [5, 6) and breaks through in the step after, starting at hour 2, 4, 6; the fourth (left
    # at hour 6) reaches B at the end of [7, 8), after the force stood down, and passes.
    force = border_force(force=4, **{KEY: 0.5})
    scenario = scenario_with(make_scenario, force, (0, 3), (2, 3), (4, 3), (6, 3), hours=16)
    results = sim.run(scenario, seed=0)
    series = results.series()
    assert series["n_held_border"].tolist() == [0, 3, 0, 3, 0, 3] + [0] * 10
    assert series["cum_held"].tolist() == [0, 3, 3, 6, 6, 9] + [9] * 10
    assert series["cum_released"].tolist() == [0, 0, 3, 3, 6, 6] + [9] * 10
    assert series["cum_entered_guatemala"].tolist() == [0, 0, 3, 3, 6, 6, 9] + [12] * 9
    assert events_of(results, BREAKS, STANDS_DOWN) == [
        (2.0, BREAKS, 3, ""),
        (4.0, BREAKS, 3, ""),
        (6.0, BREAKS, 3, ""),
        (6.0, STANDS_DOWN, 0, "0.5 of 4 left"),
    ]
    assert results.outcomes["reached_mexican_border"] == 12


def test_after_one_breakthrough_a_crowd_pushes_as_against_half_the_force(
    make_scenario: Any,
) -> None:
    # 20 held at B at hour 2 against 100 pushing at 50 per hour: chance 1 - exp(-10) of a
    # breakthrough in [2, 3); with seed 0 it happens, and the force is halved.
    rate_per_h, force, step_h = 50.0, 100, 1.0
    scenario = scenario_with(
        make_scenario, border_force(push_rate_per_h=rate_per_h, **{KEY: 0.5}), (0, 20)
    )
    model = CaravanModel(scenario, seed=0)
    try:
        model.step()  # [0, 1): the window opens
        rule = model.authorities[0].rule
        assert isinstance(rule, BorderControl)
        for crowd in (1, 20, 300):
            assert rule.breach_chance(crowd, step_h) == pytest.approx(
                1.0 - math.exp(-rate_per_h * step_h * crowd / force), rel=1e-15
            )
        model.step()  # [1, 2): held at B
        model.step()  # [2, 3): they break through
        assert events_of(model.results(), BREAKS) == [(2.0, BREAKS, 20, "")]
        assert rule.force_left == force / 2
        for crowd in (1, 20, 300):
            assert rule.breach_chance(crowd, step_h) == pytest.approx(
                1.0 - math.exp(-rate_per_h * step_h * crowd / (force / 2)), rel=1e-15
            )
        assert rule.breach_chance(1, step_h) > 1.0 - math.exp(-rate_per_h * step_h / force)
    finally:
        release(model)


def test_everyone_is_in_exactly_one_outcome_at_every_step(make_scenario: Any) -> None:
    """A force that thins out against crowds arriving in waves, people giving up and going
    back or leaving the road: the outcomes add up to those who left at every step."""
    force = border_force(
        force=30,
        push_rate_per_h=0.4,
        give_up={"scale_h": 4.0, "shape": 1.5, "return_share": 0.5},
        **{KEY: 0.6},
    )
    scenario = scenario_with(make_scenario, force, (0, 40), (3, 25), (7, 60), (12, 30), hours=30)
    for seed in range(4):
        results = sim.run(scenario, seed=seed)
        partition = results.layout.partition
        for step in range(results.n_steps):
            outcomes = outcomes_until(results, step)
            assert sum(outcomes[k] for k in partition) == outcomes["departed"], (seed, step)
        assert results.outcomes["departed"] == 155
        assert events_of(results, BREAKS), seed  # the force is pushed through at least once


# --------------------------------------------------------------------------------------------
# The January 2021 scenario
# --------------------------------------------------------------------------------------------

FORCES = ("el_florido_force", "corinto_force", "agua_caliente_force")


def with_share(base: sim.Scenario, share: float, forces: tuple[str, ...] = FORCES) -> sim.Scenario:
    return sim.derive(base, {f"authorities.{name}.{KEY}": share for name in forces})


def assert_same_results(a: sim.Results, b: sim.Results) -> None:
    assert a.outcomes == b.outcomes
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.places, b.places)
    np.testing.assert_array_equal(a.roads, b.roads)
    assert a.events == b.events


def forces_of(model: CaravanModel) -> list[BorderControl]:
    return [a.rule for a in model.authorities if isinstance(a.rule, BorderControl)]


@pytest.fixture(scope="module")
def january(january_path: Path) -> sim.Scenario:
    return sim.load(january_path)


def test_without_the_key_january_runs_as_with_the_whole_force_kept(january: sim.Scenario) -> None:
    shipped = Path(january.source_file).parent.glob("january-2021*.yaml")
    assert not [f.name for f in shipped if KEY in f.read_text(encoding="utf-8")]
    without = sim.run(january, seed=0)
    kept = sim.run(with_share(january, 1.0), seed=0)
    assert_same_results(without, kept)
    assert not events_of(without, STANDS_DOWN)
    assert len(events_of(without, BREAKS)) > 3  # the forces are pushed through again and again


def test_a_force_that_stands_down_at_el_florido_holds_nobody_after_it(
    january: sim.Scenario,
) -> None:
    """Only El Florido's force stands down at its first breakthrough: the run is the same as
    without the key up to that step (common random numbers), and nobody is held there after."""
    without = sim.run(january, seed=0)
    stands_down = sim.run(with_share(january, 0.0, ("el_florido_force",)), seed=0)
    down = [e for e in stands_down.events if e["kind"] == STANDS_DOWN]
    assert [(e["authority"], e["place"]) for e in down] == [
        ("el_florido_force", "el_florido_border")
    ]
    first_breach = next(
        e for e in stands_down.events if e["kind"] == BREAKS and e["place"] == "el_florido_border"
    )
    assert first_breach["t_h"] == down[0]["t_h"]
    step = round(down[0]["t_h"] / stands_down.step_h)  # the step the breakthrough starts
    np.testing.assert_array_equal(stands_down.counts[:step], without.counts[:step])
    np.testing.assert_array_equal(stands_down.places[:step], without.places[:step])
    held = stands_down.at_places("n_held")[:, stands_down.place_ids.index("el_florido_border")]
    assert held[step - 1] > 0
    assert (held[step:] == 0).all()
    kept_held = without.at_places("n_held")[:, without.place_ids.index("el_florido_border")]
    assert kept_held[step:].max() > 0  # the force that kept its strength held people after
    assert stands_down.outcomes != without.outcomes


def test_a_model_built_twice_from_one_scenario_gives_identical_results(
    january: sim.Scenario,
) -> None:
    """The force left is each run's own: a second model from the same scenario starts at full
    strength and gives the same results, whatever the first did."""
    scenario = with_share(january, 0.5)
    first = CaravanModel(scenario, seed=3)
    second = CaravanModel(scenario, seed=3)
    try:
        a = first.run()
        left = {r.name: r.force_left for r in forces_of(first)}
        assert left["el_florido_force"] < 1500  # thinned in the first run
        assert all(r.force_left == r.spec.force for r in forces_of(second))
        b = second.run()
        assert_same_results(a, b)
        assert {r.name: r.force_left for r in forces_of(second)} == left
        assert_same_results(a, sim.run(scenario, seed=3))
    finally:
        release(first)
        release(second)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "message"),
    [
        ("-0.1", "Input should be greater than or equal to 0 (got -0.1)"),
        ("1.5", "Input should be less than or equal to 1 (got 1.5)"),
    ],
)
def test_a_share_outside_0_to_1_is_located(
    make_scenario: Any, capsys: pytest.CaptureFixture[str], share: str, message: str
) -> None:
    path = make_scenario.write({"authorities": {"force": border_force(**{KEY: float(share)})}})
    lines = path.read_text(encoding="utf-8").splitlines()
    line = 1 + next(i for i, text in enumerate(lines) if text.strip() == f"{KEY}: {share}")
    expected = f"{path}:{line}: authorities.force.{KEY}: {message}"
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value) == expected
    assert main(["check", str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_the_flee_export_says_it_drops_the_thinning_only_where_a_force_thins(
    make_scenario: Any,
) -> None:
    closure = "B is closed from day 0 to day 4"
    kept, thins = (
        make_scenario({"authorities": {"force": border_force(**keys)}}).authorities["force"]
        for keys in ({}, {KEY: 0.5})
    )
    assert BorderControl.flee_note(kept, closure).detail == (
        f"{closure}: nobody reaches or leaves it while the force stands; crowds breaking "
        "through (force, push_rate_per_h) and giving up (give_up) are dropped"
    )
    assert BorderControl.flee_note(thins, closure).detail == (
        f"{closure}: nobody reaches or leaves it while the force stands; crowds breaking "
        f"through (force, push_rate_per_h), the force thinning out or standing down after "
        f"them ({KEY}) and giving up (give_up) are dropped"
    )


def test_caravan_rules_lists_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["rules"]) == 0
    assert KEY in capsys.readouterr().out
