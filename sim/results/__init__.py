"""What a run produced: time series, per-place and per-road counts, events, outcomes, provenance.

- `sim.results_schema` (beside this package, so that rules and the kernel read it alone):
  every counter and outcome declared once, with labels and units, and `Layout`;
- `layout`: the `Layout` of one scenario's runs;
- `run`: `Results` (named arrays, no model inside) and the `Recorder` that fills them;
- `tables`: Arrow tables and JSON for run directories, and summaries over replicates.

None of these imports numba or Mesa.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.results.layout import layout_of
from sim.results_schema import (
    DEPARTED_BY_ORIGIN,
    ENTRIES_BY_CROSSING,
    FIXED_OUTCOME_KEYS,
    HELD_PEAK,
    MAIN_OUTCOMES,
    OUTCOMES,
    PARTITION,
    Layout,
)

ENTRY_PREFIX = ENTRIES_BY_CROSSING.prefix
"""Outcomes by crossing are counted at the end of a run only (not step by step)."""

DEPARTED_PREFIX = DEPARTED_BY_ORIGIN.prefix
"""Departures by origin are counted at the end of a run only (not step by step)."""

if TYPE_CHECKING:
    from sim.results.run import Recorder, Results
    from sim.results.tables import (
        INTERVAL_PERCENTILES,
        events_table,
        interval,
        places_table,
        roads_table,
        summarise,
        timeseries_table,
        write_json,
        write_parquet,
    )

# `run` imports NumPy and `tables` pyarrow: their names load on first use, so that what only
# needs a run's layout (`caravan check` of a calibration section) pays for neither.
_LAZY = {"Recorder": "sim.results.run", "Results": "sim.results.run"} | dict.fromkeys(
    {
        "INTERVAL_PERCENTILES",
        "events_table",
        "interval",
        "places_table",
        "roads_table",
        "summarise",
        "timeseries_table",
        "write_json",
        "write_parquet",
    },
    "sim.results.tables",
)


def __getattr__(name: str) -> Any:
    """A name of `sim.results.run` or `sim.results.tables`, imported on first use."""
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module 'sim.results' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def outcomes_until(results: Results, step: int) -> dict[str, int]:
    """The outcomes as they stood at the end of `step` (0-based), as if the run ended there.

    Departures by origin (`departed_from_*`) are left out: the run counts them only in total
    (and so entries by crossing for a run directory written by 0.1). The last step gives
    `results.outcomes` without those keys.
    """
    if not 0 <= step < results.n_steps:
        raise ValueError(f"step {step} is outside the run's {results.n_steps} steps")
    end = step + 1
    return results.layout.compute(
        results.counts[:end], results.places[:end], results.place_ids, None
    )


__all__ = [
    "DEPARTED_BY_ORIGIN",
    "DEPARTED_PREFIX",
    "ENTRIES_BY_CROSSING",
    "ENTRY_PREFIX",
    "FIXED_OUTCOME_KEYS",
    "HELD_PEAK",
    "INTERVAL_PERCENTILES",
    "MAIN_OUTCOMES",
    "OUTCOMES",
    "PARTITION",
    "Layout",
    "Recorder",
    "Results",
    "events_table",
    "interval",
    "layout_of",
    "outcomes_until",
    "places_table",
    "roads_table",
    "summarise",
    "timeseries_table",
    "write_json",
    "write_parquet",
]
