"""The golden baseline: every case of `tests/baseline/cases.yaml` gives exactly the stored results
(outcomes, and every column of every table of its run directory), and a run directory written by
caravan-sim 0.1 still loads and reruns to the same tables. Only `tests/baseline/regenerate.py`
rewrites the stored results (see `tests/_baseline.py`)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import _baseline
import pyarrow.parquet as pq
import pytest
import yaml

import sim
from sim.rundir import write_run

RUN_0_1 = _baseline.BASELINE / "run-0.1"
ADDED_SINCE_0_1 = frozenset(
    {"new_returned_after_entering", "new_entered_here", "new_returned_here"}
)
CUMULATIVE_SINCE_0_1 = frozenset({"cum_returned_after_entering"})


def _differences(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(stored["outcomes"]) | set(now["outcomes"])):
        before, after = stored["outcomes"].get(key), now["outcomes"].get(key)
        if before != after:
            out.append(f"outcome {key}: {before} -> {after}")
    for table in sorted(set(stored["columns"]) | set(now["columns"])):
        before_cols, after_cols = stored["columns"].get(table, {}), now["columns"].get(table, {})
        for column in sorted(set(before_cols) | set(after_cols)):
            if before_cols.get(column) != after_cols.get(column):
                out.append(f"{table}.{column} differs")
    for key in ("scenario", "seed", "n_steps", "partition"):
        if stored[key] != now[key]:
            out.append(f"{key}: {stored[key]} -> {now[key]}")
    return out


@pytest.mark.parametrize("name", list(_baseline.cases()))
def test_case_matches_baseline(name: str) -> None:
    now, csv = _baseline.record(name, _baseline.cases()[name])
    stored, stored_csv = _baseline.stored(name)
    problems = _differences(stored, now)
    if stored_csv is not None and csv != stored_csv:
        diff = difflib.unified_diff(
            stored_csv.splitlines(), (csv or "").splitlines(), "baseline", "now", n=0, lineterm=""
        )
        problems.append("hourly series differ:\n" + "\n".join(list(diff)[:20]))
    assert not problems, f"{name} no longer matches the golden baseline:\n" + "\n".join(problems)


def test_every_stored_case_is_listed() -> None:
    """A case dropped from cases.yaml leaves no stale record that nothing checks."""
    stored = {p.stem for p in _baseline.BASELINE.glob("*.json")}
    assert stored == set(_baseline.cases())


def test_run_directory_of_0_1_loads_and_reruns_alike(tmp_path: Path) -> None:
    saved = sim.load_run(RUN_0_1)
    assert saved.summary["version"] == "0.1.0"
    assert len(saved.replicates) == 2
    assert [r.outcomes for r in saved.replicates] == saved.summary["per_replicate"]
    # Counters added since 0.1 are absent from it, and so are the outcomes that read them.
    layout = saved.replicates[0].layout
    assert layout.absent == ADDED_SINCE_0_1
    assert "returned_after_entering" not in saved.replicates[0].outcomes
    # Its resolved scenario.yaml reruns to the very tables it was written with, plus the
    # columns added since.
    runs = [sim.run(saved.scenario, seed=seed) for seed in saved.summary["seeds"]]
    write_run(tmp_path / "again", saved.scenario, runs)
    for table in _baseline.TABLES:
        before = pq.read_table(RUN_0_1 / f"{table}.parquet")
        after = pq.read_table(tmp_path / "again" / f"{table}.parquet")
        assert after.select(before.column_names).equals(before), table
        added = set(after.column_names) - set(before.column_names)
        assert added <= ADDED_SINCE_0_1 | CUMULATIVE_SINCE_0_1, table
    assert sim.load_run(tmp_path / "again").replicates[0].layout.absent == frozenset()
    # Keys added since 0.1, at their defaults, are not written: it resolves to the same file.
    written = yaml.safe_load((RUN_0_1 / "scenario.yaml").read_text(encoding="utf-8"))
    again = yaml.safe_load((tmp_path / "again" / "scenario.yaml").read_text(encoding="utf-8"))
    assert again == written
