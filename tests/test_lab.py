"""`caravan lab` without a browser: the levers as scenario changes (hand-computed), the lab's
model against a plain run, the outcome rows, the paired comparison, and the command's errors.
The page itself is tested in a browser (tests/test_lab_browser.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.lab.levers import (
    ADDED_BLOCKADE_HOURS,
    ADDED_BLOCKADE_NAME,
    ADDED_BLOCKADE_START_H,
    Levers,
    apply_levers,
)
from sim.lab.model import LabModel, calibrated_scenario, compare, outcome_rows, target_sets_of
from sim.model import run
from sim.rules import KINDS

REPO = Path(__file__).resolve().parent.parent
CST = timezone(timedelta(hours=-6))


def test_the_default_levers_leave_the_scenario_as_it_is() -> None:
    january = calibrated_scenario("january-2021")
    assert apply_levers(january, Levers()) is january


def test_changes_lists_the_levers_moved_from_their_defaults() -> None:
    assert Levers().changes() == {}
    moved = Levers(blockade=False, testing_factor=2.0)
    assert moved.changes() == {"blockade": False, "testing_factor": 2.0}


def test_the_border_force_factor_multiplies_each_force_and_zero_removes_them() -> None:
    january = calibrated_scenario("january-2021")
    doubled = apply_levers(january, Levers(border_force_factor=2.0)).authorities
    # january-2021-base.yaml: 1,500 at El Florido, 250 at Corinto and at Agua Caliente
    assert [doubled[n].force for n in ("el_florido_force", "corinto_force")] == [3000, 500]
    none = apply_levers(january, Levers(border_force_factor=0.0)).authorities
    assert {spec.kind for spec in none.values()} == {"blockade", "checkpoints", "health_posts"}


def test_the_blockade_moves_in_place_and_time_or_goes() -> None:
    january = calibrated_scenario("january-2021")
    levers = Levers(blockade_place="zacapa", blockade_shift_h=-10, blockade_extra_h=5)
    blockade = apply_levers(january, levers).authorities["vado_hondo_blockade"]
    assert blockade.place_ids() == ["zacapa"]
    # reported: 16 Jan 19:00 to 18 Jan 08:00; 10 hours earlier, and 5 hours longer
    assert blockade.active.start == datetime(2021, 1, 16, 9, tzinfo=CST)
    assert blockade.active.end == datetime(2021, 1, 18, 3, tzinfo=CST)
    assert "vado_hondo_blockade" not in apply_levers(january, Levers(blockade=False)).authorities


def test_a_blockade_shortened_past_its_start_still_stands_one_step() -> None:
    january = calibrated_scenario("january-2021")
    blockade = apply_levers(january, Levers(blockade_extra_h=-100)).authorities[
        "vado_hondo_blockade"
    ]
    assert blockade.active.end - blockade.active.start == timedelta(hours=1)


def test_a_caravan_without_a_blockade_gets_one_where_it_is_placed() -> None:
    october = calibrated_scenario("caravans/october-2020")
    assert all(spec.kind != "blockade" for spec in october.authorities.values())
    placed = apply_levers(october, Levers(blockade_place="zacapa")).authorities
    added = placed[ADDED_BLOCKADE_NAME]
    start = october.time.start + timedelta(hours=ADDED_BLOCKADE_START_H)
    assert (added.kind, added.place_ids()) == ("blockade", ["zacapa"])
    assert (added.active.start, added.active.end) == (
        start,
        start + timedelta(hours=ADDED_BLOCKADE_HOURS),
    )


def test_road_reactions_taken_from_the_behaviour_are_scaled_and_chances_capped() -> None:
    october = calibrated_scenario("caravans/october-2020")
    spec = october.authorities["highway_checkpoints"]
    behaviour_chance = KINDS["checkpoints"].reaction_of(spec, "intercept_chance", october.behaviour)
    assert spec.intercept_chance is None  # the behaviour gives it
    halved = apply_levers(october, Levers(checkpoint_intercept_factor=0.5))
    assert halved.authorities["highway_checkpoints"].intercept_chance == behaviour_chance * 0.5
    capped = apply_levers(october, Levers(checkpoint_intercept_factor=100.0))
    assert capped.authorities["highway_checkpoints"].intercept_chance == 1.0
    prevention = october.authorities["state_of_prevention"]
    rate = KINDS["state_of_prevention"].reaction_of(prevention, "give_up_per_h", october.behaviour)
    tripled = apply_levers(october, Levers(road_give_up_factor=3.0))
    assert tripled.authorities["state_of_prevention"].give_up_per_h == pytest.approx(3 * rate)


def test_return_transport_can_be_switched_off() -> None:
    october = calibrated_scenario("caravans/october-2020")
    kinds = {
        s.kind for s in apply_levers(october, Levers(return_transport=False)).authorities.values()
    }
    assert "return_transport" not in kinds
    assert "return_transport" in {s.kind for s in october.authorities.values()}


def test_a_lever_that_breaks_the_scenario_is_a_located_error() -> None:
    january = calibrated_scenario("january-2021")
    with pytest.raises(
        ScenarioError, match=r"authorities\.vado_hondo_blockade\.place: unknown place 'nowhere'"
    ):
        apply_levers(january, Levers(blockade_place="nowhere"))


def test_the_lab_model_runs_as_a_plain_run_of_its_scenario() -> None:
    model = LabModel(caravan="january-2021", seed=3, blockade=False)
    while model.running:
        model.step()
    plain = run(apply_levers(calibrated_scenario("january-2021"), Levers(blockade=False)), seed=3)
    assert model.results().outcomes == plain.outcomes


def test_settings_the_checks_refuse_leave_the_calibrated_scenario_and_say_why() -> None:
    model = LabModel(caravan="january-2021", blockade_place="el_florido_border")
    assert model.refused is not None
    assert "authorities.vado_hondo_blockade.active: overlaps 'el_florido_force'" in model.refused
    assert model.caravan_scenario is calibrated_scenario("january-2021")
    assert model.levers == Levers()


def test_outcome_rows_read_each_figure_at_its_date_or_the_end() -> None:
    january = calibrated_scenario("january-2021")
    results = run(january, seed=0)
    sets = target_sets_of(january)
    rows = outcome_rows(results, sets, finished=True)
    assert len(rows) == sum(len(s.targets) for s in sets)
    assert {r.status for r in rows} <= {"within", "outside"}
    undated = next(t for t in sets[0].targets if t.by is None)
    row = next(r for r in rows if r.target_id == undated.id and r.target_set == sets[0].name)
    assert row.model == undated.value_from(results.outcomes)
    early = LabModel(caravan="january-2021")
    early.step()
    so_far = outcome_rows(early.results(), sets, finished=False)
    assert {r.status for r in so_far} == {"so far"}  # the first hour reaches no figure's date


def test_a_figure_the_run_cannot_count_is_shown_as_such() -> None:
    january = calibrated_scenario("january-2021")
    results = run(apply_levers(january, Levers(blockade=False)), seed=0)
    rows = outcome_rows(results, target_sets_of(january), finished=True)
    peak = next(r for r in rows if r.target_id == "held_at_vado_hondo_peak")
    assert (peak.model, peak.status) == (None, "not in this run")


def test_the_comparison_pairs_seeds_so_unchanged_settings_differ_by_nothing() -> None:
    same = compare("january-2021", Levers(), first_seed=0, n_seeds=2)
    for base, current in zip(same.calibrated, same.current, strict=True):
        assert base.seed == current.seed
        assert base.outcomes == current.outcomes
    no_blockade = compare("january-2021", Levers(blockade=False), first_seed=0, n_seeds=2)
    assert any(
        b.outcomes["moved_on_toward_mexico"] != c.outcomes["moved_on_toward_mexico"]
        for b, c in zip(no_blockade.calibrated, no_blockade.current, strict=True)
    )


def _caravan(*argv: str, block_solara: bool = False) -> subprocess.CompletedProcess[str]:
    """`caravan ARGV` in a fresh interpreter; with `block_solara`, as if solara were missing."""
    code = "import sys\n"
    if block_solara:
        code += "sys.modules['solara'] = None\n"  # what an interpreter without it finds
    code += "from sim.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO, check=False
    )


def test_without_the_extra_the_lab_says_what_to_install() -> None:
    done = _caravan("lab", block_solara=True)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: caravan lab needs packages that are not installed (solara); "
        "install them with: pip install 'caravan-sim[lab]'"
    )


def test_an_unknown_caravan_is_an_input_error_before_any_server_starts() -> None:
    done = _caravan("lab", "january-2012")
    assert done.returncode == 2
    assert "january-2012: not a file, nor the name of a shipped scenario or caravan context" in (
        done.stderr
    )
    assert "did you mean 'january-2021'?" in done.stderr
