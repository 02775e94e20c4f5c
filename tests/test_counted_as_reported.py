"""Outcomes counted the way the sources count them: returns after entering Guatemala (what
Guatemala's migration institute registers) apart from those who turned back before entering,
returns by return point, and entries and returns per place and step (`places.parquet`).

Hand-computed on the micro network A -10 km- B -20 km- C (conftest.py): A is the origin and
return point, B the crossing into Guatemala, C the Mexican border. A blockade holds people
where they arrive, before they meet the place, and its clearance sends everyone back to A."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.results import outcomes_until

NEVER_GIVE_UP = {"scale_h": 1.0e12, "shape": 1.0, "return_share": 1.0}


def cleared_at(place: str, until_h: float) -> dict[str, Any]:
    """A blockade at `place` that nobody gives up at or slips past, cleared at `until_h` with
    everyone sent back."""
    return {
        "kind": "blockade",
        "place": place,
        "active": [-1, until_h],
        "give_up": NEVER_GIVE_UP,
        "slip_chance_per_h": 0.0,
        "clearance_return_share": 1.0,
    }


def run_with(make_scenario: Any, blockade: dict[str, Any], hours: int = 24) -> sim.Results:
    scenario = make_scenario(
        {
            "time": {"duration_h": hours},
            "population": {"size": 20},
            "authorities": {"roadblock": blockade},
        }
    )
    return sim.run(scenario, seed=0)


def per_place(results: sim.Results, column: str, place: str) -> np.ndarray[Any, Any]:
    return results.at_places(column)[:, results.place_ids.index(place)]


def test_turned_back_at_the_crossing_before_entering(make_scenario: Any) -> None:
    results = run_with(make_scenario, cleared_at("B", 5))
    out = results.outcomes
    assert out["returned_voluntarily"] == 20
    assert out["turned_back_at_border"] == 20
    assert out["returned_after_entering"] == 0
    assert out["entered_guatemala"] == 0
    assert out["returned_to_A"] == 20
    # Cleared in the step from hour 5: back at A, recorded at hour 6.
    returned_at_a = per_place(results, "new_returned_here", "A")
    assert returned_at_a[list(results.hours).index(6.0)] == 20
    assert returned_at_a.sum() == 20
    assert per_place(results, "new_entered_here", "B").sum() == 0


def test_returned_after_entering(make_scenario: Any) -> None:
    results = run_with(make_scenario, cleared_at("C", 12))
    out = results.outcomes
    assert out["entered_guatemala"] == 20
    assert out["returned_voluntarily"] == 20
    assert out["returned_after_entering"] == 20
    assert out["turned_back_at_border"] == 0
    assert out["returned_to_A"] == 20  # the nearest return point to C is A
    entered_at_b = per_place(results, "new_entered_here", "B")
    assert entered_at_b.sum() == out["entered_guatemala_via_B"] == 20
    # Entered in the steps the cumulative entries grew in, place by place.
    assert (np.cumsum(entered_at_b) == results.series()["cum_entered_guatemala"]).all()
    series = results.series()
    assert (series["new_returned_after_entering"] == series["new_returned_voluntarily"]).all()


def test_outcomes_at_a_step_count_the_returns_until_then(make_scenario: Any) -> None:
    results = run_with(make_scenario, cleared_at("B", 5))
    hour_5 = list(results.hours).index(5.0)
    assert outcomes_until(results, hour_5)["returned_to_A"] == 0
    assert outcomes_until(results, hour_5 + 1)["returned_to_A"] == 20


def test_entries_by_crossing_are_counted_step_by_step(make_scenario: Any) -> None:
    """Walking 5 km/h from hour 0, the 20 reach B, 10 km away, in the step from hour 1: no
    entry at the end of step 0, all 20 at the end of step 1, as at the end of the run."""
    results = sim.run(make_scenario({"population": {"size": 20}}), seed=0)
    assert outcomes_until(results, 0)["entered_guatemala_via_B"] == 0
    assert outcomes_until(results, 1)["entered_guatemala_via_B"] == 20
    assert results.outcomes["entered_guatemala_via_B"] == results.outcomes["entered_guatemala"]


@pytest.mark.parametrize("seed", [0, 1])
def test_january_2021_counts_add_up(seed: int) -> None:
    results = sim.run(
        sim.load(
            Path(__file__).resolve().parent.parent / "scenarios" / "january-2021-official.yaml"
        ),
        seed=seed,
    )
    out = results.outcomes
    assert (
        out["returned_after_entering"] + out["turned_back_at_border"]
        == (out["returned_voluntarily"])
    )
    assert out["turned_back_at_border"] > 0  # people give up at the border force
    returned_to = {k: v for k, v in out.items() if k.startswith("returned_to_")}
    assert set(returned_to) == {
        "returned_to_omoa",
        "returned_to_el_florido_border",
        "returned_to_agua_caliente_border",
    }
    assert sum(returned_to.values()) == out["returned_voluntarily"]
    for crossing in ("el_florido_border", "corinto_hn", "agua_caliente_border"):
        entered = per_place(results, "new_entered_here", crossing).sum()
        assert entered == out[f"entered_guatemala_via_{crossing}"]
    assert results.at_places("new_entered_here").sum() == out["entered_guatemala"]
    assert results.at_places("new_returned_here").sum() == out["returned_voluntarily"]
