"""Target sets in seeds/: they load, cite known sources, agree with themselves, and bad files fail
with the file and line of the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.results_schema import is_known_key
from sim.targets import (
    Target,
    Tolerance,
    available_target_sets,
    load_sources,
    load_target_set,
    seeds_dir,
)

SETS = ["official", "seed-article"]


def _by_id(name: str) -> dict[str, Target]:
    return {t.id: t for t in load_target_set(name).targets}


def test_both_sets_are_shipped() -> None:
    assert available_target_sets() == SETS


@pytest.mark.parametrize("name", SETS)
def test_set_loads_under_its_own_name(name: str) -> None:
    target_set = load_target_set(name)
    assert target_set.name == name
    assert target_set.targets


@pytest.mark.parametrize("name", SETS)
def test_every_cited_source_exists(name: str) -> None:
    sources = load_sources()
    for target in load_target_set(name).targets:
        assert target.source in sources
        assert set(target.see_also) <= set(sources)
        assert all(is_known_key(key) for key in target.outcome)


def test_load_by_path_equals_load_by_name() -> None:
    path = seeds_dir() / "targets" / "official.yaml"
    assert load_target_set(str(path)) == load_target_set("official")


def test_value_from_sums_the_outcome_keys() -> None:
    returned = _by_id("seed-article")["returned_to_honduras"]
    outcomes = {
        "returned_voluntarily": 3000.0,
        "remitted": 1500.0,
        "deported_after_quarantine": 21.0,
        "departed": 8000.0,  # not part of this target: must not be added
    }
    assert returned.value_from(outcomes) == 4521.0


def test_value_from_names_a_missing_outcome() -> None:
    returned = _by_id("seed-article")["returned_to_honduras"]
    with pytest.raises(KeyError, match="deported_after_quarantine"):
        returned.value_from({"returned_voluntarily": 1.0, "remitted": 1.0})


def test_official_entries_by_crossing_add_up_to_the_total() -> None:
    targets = _by_id("official")
    crossings = ["entered_via_el_florido", "entered_via_corinto", "entered_via_agua_caliente"]
    total = targets["entered_guatemala"].observed
    assert sum(targets[c].observed or 0.0 for c in crossings) == total
    assert targets["entered_guatemala"].observed == 7200


def test_official_processed_is_voluntary_returns_plus_remitted() -> None:
    targets = _by_id("official")
    parts = ["returned_voluntarily", "remitted"]
    assert targets["processed"].outcome == parts
    assert (targets["returned_voluntarily"].observed, targets["remitted"].observed) == (3454, 1503)
    assert targets["processed"].observed == 4957 == 3454 + 1503
    # The same identity through value_from: feeding the parts reproduces the whole.
    parts_observed = {key: targets[key].observed or 0.0 for key in parts}
    assert targets["processed"].value_from(parts_observed) == targets["processed"].observed


def test_official_positives_are_a_binomial_of_the_tested() -> None:
    targets = _by_id("official")
    assert targets["tested_positive"].tolerance == Tolerance(binomial_of="tested")
    assert (targets["tested_positive"].observed, targets["tested"].observed) == (21, 104)


def test_dated_figures_carry_their_date() -> None:
    reached = _by_id("official")["reached_mexican_border"]
    assert reached.by is not None and reached.by.isoformat() == "2021-01-20T23:59:00"


def test_sources_dates_are_text_even_when_yaml_reads_a_date() -> None:
    sources = load_sources()
    assert sources["igm-dca-2021-07-13"].date == "2021-07-13"
    assert sources["seed-article"].date == "January 2021 (undated)"


GOOD = """\
name: broken
description: a target set with one mistake
targets:
  - id: departed
    outcome: [departed]
    observed: 8000
    source: ap
    note: about 8,000
    tolerance: {relative: 0.10}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_unbroken_file_loads(tmp_path: Path) -> None:
    assert load_target_set(str(_write(tmp_path, GOOD))).targets[0].observed == 8000


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("    note: about 8,000\n", "    notes: about 8,000\n", 8, "unknown key 'notes'"),
        ("    source: ap\n", "    source: apx\n", 7, "unknown source id 'apx'"),
        ("outcome: [departed]", "outcome: [departd]", 5, "did you mean 'departed'"),
        ("{relative: 0.10}", "{relative: 0.1, range: [1, 2]}", 9, "exactly one of"),
    ],
    ids=["unknown-key", "unknown-source", "unknown-outcome", "two-tolerances"],
)
def test_broken_file_names_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ScenarioError) as caught:
        load_target_set(str(path))
    # Other problems may follow from the same mistake (a renamed key is also a missing one).
    (problem,) = [p for p in caught.value.problems if words in p.message]
    assert problem.file == str(path)
    assert problem.line == line
    assert f"{path}:{line}:" in str(caught.value)


def test_unknown_set_name_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match="official"):
        load_target_set("oficial")


def test_every_outcome_a_shipped_target_names_is_produced_by_a_run() -> None:
    """Target sets name outcomes by key; a run of the January scenario produces each."""
    import sim

    scenario = sim.load(
        Path(__file__).resolve().parent.parent / "scenarios" / "january-2021.yaml",
        overrides=["population.size=500"],
    )
    outcomes = sim.run(scenario, seed=0).outcomes
    named = {key for name in SETS for t in load_target_set(name).targets for key in t.outcome}
    assert named <= set(outcomes)
