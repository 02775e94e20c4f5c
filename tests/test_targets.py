"""Target sets in seeds/: they load, cite known sources, agree with themselves, and bad files fail
with the file and line of the mistake."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.results_schema import is_known_key
from sim.targets import (
    COMPARED_SETS,
    Target,
    Tolerance,
    available_target_sets,
    load_compared_sets,
    load_sources,
    load_target_set,
    seeds_dir,
)

SETS = ["igm-january-2021", "october-2020", "official", "seed-article"]
DATED_SETS = ["igm-january-2021", "october-2020"]


def _by_id(name: str) -> dict[str, Target]:
    return {t.id: t for t in load_target_set(name).targets}


def test_every_set_is_shipped() -> None:
    assert available_target_sets() == SETS


def test_run_table_compares_the_two_original_sets_only() -> None:
    """`caravan run`'s table and the plots show COMPARED_SETS; the dated sets are for
    calibration and stay out of it."""
    assert COMPARED_SETS == ("seed-article", "official")
    assert [s.name for s in load_compared_sets()] == ["seed-article", "official"]
    assert set(DATED_SETS) <= set(available_target_sets()) - set(COMPARED_SETS)


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


# --- The dated sets: IGM's January 2021 series and the October 2020 caravan ---------------------

PROCESSED = ["returned_after_entering", "remitted"]


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("igm-january-2021", datetime(2021, 1, 14), datetime(2021, 1, 31, 23, 59)),
        ("october-2020", datetime(2020, 10, 1), datetime(2020, 10, 31, 23, 59)),
    ],
)
def test_every_date_lies_in_its_caravan(name: str, first: datetime, last: datetime) -> None:
    dated = [t for t in load_target_set(name).targets if t.by is not None]
    assert len(dated) >= 4
    for target in dated:
        assert target.by is not None and first <= target.by <= last, target.id


def _running_order(targets: list[Target]) -> dict[tuple[str, ...], list[Target]]:
    """Targets by the outcomes they sum, in file order."""
    series: dict[tuple[str, ...], list[Target]] = {}
    for target in targets:
        series.setdefault(tuple(target.outcome), []).append(target)
    return series


def _least(target: Target) -> float:
    """The figure, or for a range without one its lower end."""
    if target.observed is not None:
        return target.observed
    assert target.tolerance.range is not None
    return target.tolerance.range[0]


@pytest.mark.parametrize("name", SETS)
def test_dated_figures_run_forward_in_time(name: str) -> None:
    """Per outcome, dated figures come in time order and then the undated (end of the run); a
    running count never falls from one to the next."""
    for outcome, series in _running_order(load_target_set(name).targets).items():
        dates = [t.by for t in series if t.by is not None]
        undated = [t.by for t in series[len(dates) :]]
        assert [t.by for t in series[: len(dates)]] == dates, outcome  # dated ones first
        assert undated == [None] * len(undated), outcome
        assert all(a < b for a, b in pairwise(dates)), outcome
        figures = [_least(t) for t in series]
        assert figures == sorted(figures), outcome


def _processed_with_parts(name: str) -> set[tuple[float, float, float]]:
    """(processed, returned, remitted) for each processed figure whose source gives both parts
    for the same time, read from the YAML."""
    found = set()
    targets = load_target_set(name).targets
    for whole in (t for t in targets if t.outcome == PROCESSED):
        same_report = [t for t in targets if (t.source, t.by) == (whole.source, whole.by)]
        parts = {key: [t for t in same_report if t.outcome == [key]] for key in PROCESSED}
        if not all(len(p) == 1 for p in parts.values()):
            continue
        returned, remitted = parts["returned_after_entering"][0], parts["remitted"][0]
        assert whole.observed is not None and returned.observed is not None
        assert remitted.observed is not None
        # Feeding the parts to the whole's outcome sum reproduces the whole.
        values = {"returned_after_entering": returned.observed, "remitted": remitted.observed}
        assert whole.value_from(values) == whole.observed, whole.id
        found.add((whole.observed, returned.observed, remitted.observed))
    return found


def test_processed_is_returned_plus_remitted_in_the_january_series() -> None:
    assert _processed_with_parts("igm-january-2021") == {
        (3329, 2374, 955),  # 14-18 January (Gaceta 503)
        (3761, 2731, 1030),  # to 21:00 on 19 January (Publinews)
        (4957, 3454, 1503),  # the whole event, retrospective
    }


def test_processed_is_returned_plus_remitted_in_october() -> None:
    assert _processed_with_parts("october-2020") == {(3953, 3055, 898)}


def test_igm_counts_are_compared_with_returns_after_entering() -> None:
    """IGM counts people inside Guatemala: none of its figures uses the returns of those who
    turned back at the border."""
    for name in DATED_SETS:
        for target in load_target_set(name).targets:
            assert "returned_voluntarily" not in target.outcome, target.id


def test_january_repeated_count_is_cited_not_counted_again() -> None:
    """The 3,661 of 20-21 January repeats the 19 January count for Hondurans: a source of that
    target, not a target of its own."""
    targets = _by_id("igm-january-2021")
    assert "guatemala-telesur-efe-2021-01-21" in targets["processed_jan19"].see_also
    assert all(t.source != "guatemala-telesur-efe-2021-01-21" for t in targets.values())
    assert 3661 not in {t.observed for t in targets.values()}
    assert targets["processed_total"].by is None  # the retrospective total is undated


def test_january_17_counts_are_one_range() -> None:
    """Two same-day IGM counts (909 via Sputnik, 1,383 via EFE): one target spanning both."""
    jan17 = _by_id("igm-january-2021")["returned_jan17"]
    assert jan17.observed is None
    assert jan17.tolerance.range == (909, 1383)
    assert {jan17.source, *jan17.see_also} == {"igm-efe-2021-01-17", "igm-sputnik-2021-01-17"}


def test_january_series_reads_off_the_january_scenario() -> None:
    """A calibration of the January scenario to the series finds every outcome and compares each
    dated figure with the end of the step its time falls in (hourly steps from 18:00 on
    13 January: 12:00 on the 16th is 66 h in, the end of step 65)."""
    from sim.calibrate.plan import plan_calibration

    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "january-2021-base.yaml"
    plan = plan_calibration(scenario, "igm-january-2021")
    steps = {reading.target.id: reading.step for reading in plan.readings}
    assert steps == {
        "returned_jan16": 65,
        "returned_jan17": 95,  # 18:00 on the 17th: 96 h
        "processed_jan18": 122,  # 21:00 on the 18th: 123 h
        "returned_jan18": 122,
        "remitted_jan18": 122,
        "processed_jan19": 146,  # 21:00 on the 19th: 147 h
        "returned_jan19": 146,
        "remitted_jan19": 146,
        "processed_total": None,  # undated: the end of the run
        "returned_total": None,
        "remitted_total": None,
    }


def test_a_target_set_reads_the_sources_file_beside_it(tmp_path: Path) -> None:
    """A copied seeds/ folder (`caravan init`) cites its own sources: a source added to the
    copy's sources.yaml is known to a target set in the copy's targets/, and the shipped
    sources do not have it."""
    seeds = tmp_path / "seeds"
    (seeds / "targets").mkdir(parents=True)
    (seeds / "sources.yaml").write_text(
        "sources:\n  field-notes:\n    outlet: Our field team\n    date: 2021-01-17\n"
        "    what: counts at Vado Hondo\n",
        encoding="utf-8",
    )
    text = GOOD.replace("    source: ap\n", "    source: field-notes\n")
    copied = seeds / "targets" / "ours.yaml"
    copied.write_text(text, encoding="utf-8")
    assert load_target_set(str(copied)).targets[0].source == "field-notes"
    alone = _write(tmp_path, text)  # no sources.yaml beside it or above it: the shipped one
    with pytest.raises(ScenarioError) as caught:
        load_target_set(str(alone))
    (problem,) = caught.value.problems
    assert problem.message.startswith("unknown source id 'field-notes'")
    assert problem.message.endswith(f"; add it to {seeds_dir() / 'sources.yaml'}")
