"""The results schema: every count a run records and every outcome it reports, declared once,
with a label for tables and plots and a unit, and the `Layout` of one scenario's runs.

The migrant kernel's counter columns, the Parquet columns of a run directory, `compute_outcomes`,
the outcome keys a target set may name, the command line's table and the plots' curves all
derive from the declarations here. This module imports nothing heavier than the standard
library, so that readers of results (plots, run directories, target sets) need no simulation
library.

Naming follows the stock/flow convention: a flow `x` is recorded per step as `new_x` (and summed
from the start as `cum_x`), a stock `y` at the end of each step as `n_y`.

A counter or outcome with an `effect` belongs to a mechanism that only some scenarios switch on:
a rule that writes that effect (see `sim.rules.effects`), or for `RETURN_SPEED`, the scenario
key `movement.return_speed_kmh`. It is recorded, written and reported only for scenarios that
switch it on, so a scenario without one keeps exactly the columns and outcomes it had.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


PEOPLE = "people"
RETURN_SPEED = "return_speed_kmh"
"""The mechanism `movement.return_speed_kmh` switches on: people make their own way back."""


@dataclass(frozen=True)
class Counter:
    """One count the kernel keeps per step: a flow during the step or a stock at its end."""

    name: str
    kind: Literal["flow", "stock"]
    label: str  # for tables and plots
    doc: str
    unit: str = PEOPLE
    effect: str | None = None  # recorded only where a rule writes this effect
    since: str | None = None  # the version that added it: older run directories lack it

    @property
    def column(self) -> str:
        """Its column in the time series: `new_<name>` for a flow, `n_<name>` for a stock."""
        return f"{'new' if self.kind == 'flow' else 'n'}_{self.name}"


def _flow(
    name: str, label: str, doc: str, effect: str | None = None, since: str | None = None
) -> Counter:
    return Counter(name, "flow", label, doc, effect=effect, since=since)


def _stock(name: str, label: str, doc: str, effect: str | None = None) -> Counter:
    return Counter(name, "stock", label, doc, effect=effect)


# Places that hold people hold them as one of these classes; each class is a stock of its own.
HOLD_CLASSES: tuple[str, ...] = ("border", "blockade")
"""Hold classes, in the kernel's order: class k (from 1) counts in the stock `held_<k-th name>`.
A rule that holds people names its class (`sim.rules.base.Rule.holds_as`)."""

FLOWS: tuple[Counter, ...] = (
    _flow("departed", "departed", "left their origin"),
    _flow("held", "held", "stopped by a border force or blockade"),
    _flow("released", "released", "let go by a hold: the crowd broke through or the hold ended"),
    _flow("slipped", "slipped past", "got past a hold while it held"),
    _flow("entered_guatemala", "entered Guatemala", "crossed a border crossing into Guatemala"),
    _flow(
        "returned_voluntarily",
        "returned voluntarily",
        "back at a return point of their own accord: on foot, by bus, or carried by return "
        "transport (counted when they arrive)",
    ),
    _flow(
        "returned_after_entering",
        "returned after entering Guatemala",
        "of `returned_voluntarily`, those who had entered Guatemala: the returns Guatemala's "
        "migration institute could register",
        since="0.2",
    ),
    _flow("dispersed", "left the road", "gave up at a hold, or were cleared, and left the road"),
    _flow("remitted", "remitted (intercepted)", "intercepted at a checkpoint and deported"),
    _flow("tested", "tested", "tested for COVID-19"),
    _flow("tested_positive", "tested positive", "tested positive for COVID-19"),
    _flow("quarantined", "quarantined", "put into quarantine after a positive test"),
    _flow(
        "deported_after_quarantine",
        "deported after quarantine",
        "deported to a return point when their quarantine ended",
    ),
    _flow(
        "reached_mexican_border",
        "reached the Mexican border",
        "arrived at a destination (a crossing into Mexico)",
    ),
    _flow(
        "gave_up_on_road",
        "gave up on the road",
        "gave up while travelling, under the enforcement in force on their road, and went back",
        effect="give_up_per_h",
    ),
    _flow(
        "boarded_return_transport",
        "boarded return transport",
        "boarded a vehicle carrying people who gave up back to a return point",
        effect="transport",
    ),
)

STOCKS: tuple[Counter, ...] = (
    _stock("waiting", "not yet departed", "at their origin, not yet departed"),
    _stock("moving", "on the road", "travelling on the main road, at a place or on a road"),
    _stock("moving_in_guatemala", "on the road in Guatemala", "of `moving`, inside Guatemala"),
    _stock("dispersed", "off the road (dispersed)", "travelling off the main road"),
    _stock(
        "dispersed_in_guatemala", "off the road in Guatemala", "of `dispersed`, inside Guatemala"
    ),
    _stock("held_border", "held at a border", "held by a rule of hold class 'border'"),
    _stock("held_blockade", "held at a blockade", "held by a rule of hold class 'blockade'"),
    _stock("quarantined", "in quarantine", "in quarantine after a positive test"),
    _stock(
        "awaiting_return_transport",
        "waiting for return transport",
        "gave up and wait at a place for a vehicle back",
        effect="transport",
    ),
    _stock(
        "in_return_transport",
        "in return transport",
        "on a vehicle back to a return point",
        effect="transport",
    ),
    _stock(
        "going_back",
        "on their way back",
        "gave up where no return transport served, and make their own way back to a return "
        "point (counted as returned when they reach it)",
        effect=RETURN_SPEED,
    ),
)

COUNTERS: tuple[Counter, ...] = FLOWS + STOCKS
"""Every counter, in the kernel's column order: flows, then stocks."""

PLACE_COUNTERS: tuple[Counter, ...] = (
    _stock("at_place", "at the place", "travelling people standing at the place, held included"),
    _stock("held", "held", "held at the place by a border force or blockade"),
    _stock(
        "awaiting_return_transport",
        "waiting for return transport",
        "waiting at the place for a vehicle back",
        effect="transport",
    ),
    _flow(
        "entered_here",
        "entered Guatemala here",
        "crossed into Guatemala at this crossing",
        since="0.2",
    ),
    _flow(
        "returned_here",
        "returned here",
        "back at this return point of their own accord (as `returned_voluntarily`)",
        since="0.2",
    ),
)
"""Per place and step (the columns of `places.parquet`), in the kernel's order."""


def _column_index(counters: tuple[Counter, ...], column: str) -> int:
    return [c.column for c in counters].index(column)


# The kernel's column indices, derived from the declarations above.
NEW_DEPARTED = _column_index(COUNTERS, "new_departed")
NEW_HELD = _column_index(COUNTERS, "new_held")
NEW_RELEASED = _column_index(COUNTERS, "new_released")
NEW_SLIPPED = _column_index(COUNTERS, "new_slipped")
NEW_ENTERED = _column_index(COUNTERS, "new_entered_guatemala")
NEW_RETURNED = _column_index(COUNTERS, "new_returned_voluntarily")
NEW_RETURNED_ENTERED = _column_index(COUNTERS, "new_returned_after_entering")
NEW_DISPERSED = _column_index(COUNTERS, "new_dispersed")
NEW_REMITTED = _column_index(COUNTERS, "new_remitted")
NEW_TESTED = _column_index(COUNTERS, "new_tested")
NEW_POSITIVE = _column_index(COUNTERS, "new_tested_positive")
NEW_QUARANTINED = _column_index(COUNTERS, "new_quarantined")
NEW_DEPORTED = _column_index(COUNTERS, "new_deported_after_quarantine")
NEW_ARRIVED = _column_index(COUNTERS, "new_reached_mexican_border")
NEW_BOARDED = _column_index(COUNTERS, "new_boarded_return_transport")
NEW_GAVE_UP_ON_ROAD = _column_index(COUNTERS, "new_gave_up_on_road")
N_WAITING = _column_index(COUNTERS, "n_waiting")
N_MOVING = _column_index(COUNTERS, "n_moving")
N_MOVING_IN_GT = _column_index(COUNTERS, "n_moving_in_guatemala")
N_DISPERSED = _column_index(COUNTERS, "n_dispersed")
N_DISPERSED_IN_GT = _column_index(COUNTERS, "n_dispersed_in_guatemala")
N_HELD_FIRST = _column_index(COUNTERS, f"n_held_{HOLD_CLASSES[0]}")
N_QUARANTINED = _column_index(COUNTERS, "n_quarantined")
N_AWAITING_TRANSPORT = _column_index(COUNTERS, "n_awaiting_return_transport")
N_IN_TRANSPORT = _column_index(COUNTERS, "n_in_return_transport")
N_GOING_BACK = _column_index(COUNTERS, "n_going_back")
N_FLOWS = len(FLOWS)
N_COUNTERS = len(COUNTERS)
AT_PLACE = _column_index(PLACE_COUNTERS, "n_at_place")
HELD_HERE = _column_index(PLACE_COUNTERS, "n_held")
AWAITING_HERE = _column_index(PLACE_COUNTERS, "n_awaiting_return_transport")
ENTERED_HERE = _column_index(PLACE_COUNTERS, "new_entered_here")
RETURNED_HERE = _column_index(PLACE_COUNTERS, "new_returned_here")
FIRST_PLACE_FLOW = ENTERED_HERE
"""Per-place stocks come first, then flows (zeroed in a step the kernel skips)."""
assert all(c.kind == "flow" for c in PLACE_COUNTERS[FIRST_PLACE_FLOW:])
assert all(c.kind == "stock" for c in PLACE_COUNTERS[:FIRST_PLACE_FLOW])
N_PLACE_COUNTERS = len(PLACE_COUNTERS)
# Held stocks are consecutive columns, one per hold class in order.
assert [c.column for c in COUNTERS[N_HELD_FIRST : N_HELD_FIRST + len(HOLD_CLASSES)]] == [
    f"n_held_{name}" for name in HOLD_CLASSES
]


def in_use(counters: Iterable[Counter], effects: Iterable[str]) -> tuple[Counter, ...]:
    """The counters a scenario whose rules write `effects` records."""
    written = set(effects)
    return tuple(c for c in counters if c.effect is None or c.effect in written)


def counter(column: str) -> Counter:
    """The declaration behind a time-series or places column (`new_held`, `n_at_place`, ...)."""
    for c in (*COUNTERS, *PLACE_COUNTERS):
        if c.column == column:
            return c
    if column.startswith("cum_"):
        return counter("new_" + column.removeprefix("cum_"))
    raise KeyError(f"no counter has the column {column!r}")


def column_label(column: str) -> str:
    """A column's label for tables and plots; a `cum_*` column is labelled as its flow."""
    return counter(column).label


# --------------------------------------------------------------------------------------------
# Outcomes: what a run reports at its end (or at a step). Most are read off the recorded counts;
# three families depend on the scenario: departures by origin (`departed_from_<id>`, one per
# place waves leave from, where there are several), entries by crossing into Guatemala
# (`entered_guatemala_via_<id>`, one per crossing of the network) and the peak held at each
# place where a rule holds people (`held_at_<id>_peak`). `Layout` says which of them, and which
# counters, a scenario's runs have.
# --------------------------------------------------------------------------------------------


class Totals:
    """A run's recorded counts up to some step, read by outcome formulas."""

    def __init__(self, counts: npt.NDArray[np.int64], columns: Sequence[str]) -> None:
        self._total = counts.sum(axis=0)
        self._last = counts[-1]
        self._index = {c: j for j, c in enumerate(columns)}

    def flow(self, name: str) -> int:
        """Everyone the flow `name` counted so far (0 if the run does not record it)."""
        j = self._index.get(f"new_{name}")
        return 0 if j is None else int(self._total[j])

    def stock(self, name: str) -> int:
        """The stock `name` at the last step (0 if the run does not record it)."""
        j = self._index.get(f"n_{name}")
        return 0 if j is None else int(self._last[j])


@dataclass(frozen=True)
class Outcome:
    """One outcome: its key, label, meaning, and how it is read off the counts."""

    name: str
    label: str
    doc: str
    value: Callable[[Totals], int]
    partition: bool = False  # one of the outcomes that add up to `departed`
    effect: str | None = None  # reported only where a rule writes this effect
    unit: str = PEOPLE
    reads: str | None = None  # a column run directories older than it lack (then unknown)


@dataclass(frozen=True)
class Family:
    """Outcomes that come one per place of the scenario: `<prefix><place id><suffix>`."""

    prefix: str
    suffix: str
    label: str  # with {place} for the place's name
    doc: str
    unit: str = PEOPLE

    def key(self, place: str) -> str:
        return f"{self.prefix}{place}{self.suffix}"

    def place_of(self, key: str) -> str | None:
        """The place id in `key`, or None if `key` is not of this family."""
        match = re.fullmatch(f"{re.escape(self.prefix)}(.+){re.escape(self.suffix)}", key)
        return match.group(1) if match else None


def _held(t: Totals) -> int:
    return sum(t.stock(f"held_{name}") for name in HOLD_CLASSES)


DEPARTED_BY_ORIGIN = Family(
    "departed_from_",
    "",
    "departed from {place}",
    "people who left from this place (counted at the end of a run only; reported for "
    "scenarios whose waves leave from more than one place)",
)
ENTRIES_BY_CROSSING = Family(
    "entered_guatemala_via_",
    "",
    "entered Guatemala at {place}",
    "people who entered Guatemala at this crossing (summed from `new_entered_here`)",
)
RETURNS_BY_POINT = Family(
    "returned_to_",
    "",
    "returned to {place}",
    "people back at this return point of their own accord (as `returned_voluntarily`)",
)
HELD_PEAK = Family(
    "held_at_",
    "_peak",
    "most held at {place}",
    "the most people held at this place at the end of any one step",
)

OUTCOMES: tuple[Outcome | Family, ...] = (
    Outcome("departed", "departed", "left their origin", lambda t: t.flow("departed")),
    DEPARTED_BY_ORIGIN,
    Outcome("not_departed", "never left", "still at their origin", lambda t: t.stock("waiting")),
    Outcome(
        "entered_guatemala",
        "entered Guatemala",
        "entered Guatemala at any crossing",
        lambda t: t.flow("entered_guatemala"),
    ),
    ENTRIES_BY_CROSSING,
    Outcome(
        "returned_voluntarily",
        "returned voluntarily",
        "went back of their own accord and reached a return point",
        lambda t: t.flow("returned_voluntarily"),
        partition=True,
    ),
    Outcome(
        "returned_after_entering",
        "returned after entering Guatemala",
        "of `returned_voluntarily`, those who had entered Guatemala (the returns Guatemala's "
        "migration institute could register)",
        lambda t: t.flow("returned_after_entering"),
        reads="new_returned_after_entering",
    ),
    Outcome(
        "turned_back_at_border",
        "turned back before entering Guatemala",
        "of `returned_voluntarily`, those who went back without having entered Guatemala",
        lambda t: t.flow("returned_voluntarily") - t.flow("returned_after_entering"),
        reads="new_returned_after_entering",
    ),
    RETURNS_BY_POINT,
    Outcome(
        "gave_up_on_road",
        "gave up on the road",
        "gave up while travelling and went back (whether back yet or not)",
        lambda t: t.flow("gave_up_on_road"),
        effect="give_up_per_h",
    ),
    Outcome(
        "remitted",
        "remitted (intercepted)",
        "intercepted at a checkpoint and deported",
        lambda t: t.flow("remitted"),
        partition=True,
    ),
    Outcome(
        "deported_after_quarantine",
        "deported after quarantine",
        "deported when their quarantine ended",
        lambda t: t.flow("deported_after_quarantine"),
        partition=True,
    ),
    Outcome("tested", "tested", "tested for COVID-19", lambda t: t.flow("tested")),
    Outcome(
        "tested_positive",
        "tested positive",
        "tested positive for COVID-19",
        lambda t: t.flow("tested_positive"),
    ),
    Outcome(
        "quarantined", "quarantined", "ever put into quarantine", lambda t: t.flow("quarantined")
    ),
    Outcome(
        "in_quarantine",
        "in quarantine",
        "in quarantine at the end",
        lambda t: t.stock("quarantined"),
        partition=True,
    ),
    Outcome(
        "reached_mexican_border",
        "reached the Mexican border",
        "arrived at a crossing into Mexico",
        lambda t: t.flow("reached_mexican_border"),
        partition=True,
    ),
    Outcome(
        "dispersed_in_guatemala",
        "off the road in Guatemala",
        "off the main road inside Guatemala at the end",
        lambda t: t.stock("dispersed_in_guatemala"),
        partition=True,
    ),
    Outcome(
        "in_transit",
        "in transit",
        "on the road, held, or off the road before entering Guatemala, at the end",
        lambda t: (
            t.stock("moving") + _held(t) + t.stock("dispersed") - t.stock("dispersed_in_guatemala")
        ),
        partition=True,
    ),
    Outcome(
        "awaiting_return_transport",
        "waiting for return transport",
        "gave up and still wait for a vehicle back at the end",
        lambda t: t.stock("awaiting_return_transport"),
        partition=True,
        effect="transport",
    ),
    Outcome(
        "in_return_transport",
        "in return transport",
        "on a vehicle back to a return point at the end",
        lambda t: t.stock("in_return_transport"),
        partition=True,
        effect="transport",
    ),
    Outcome(
        "going_back",
        "on their way back",
        "gave up and still make their own way back to a return point at the end",
        lambda t: t.stock("going_back"),
        partition=True,
        effect=RETURN_SPEED,
    ),
    Outcome(
        "slipped_past_blockades",
        "slipped past",
        "got past a hold while it held",
        lambda t: t.flow("slipped"),
    ),
    Outcome(
        "moved_on_toward_mexico",
        "moved on toward Mexico",
        "reached the Mexican border, or inside Guatemala on or off the road at the end",
        lambda t: (
            t.flow("reached_mexican_border")
            + t.stock("dispersed_in_guatemala")
            + t.stock("moving_in_guatemala")
        ),
    ),
    HELD_PEAK,
)

FAMILIES: tuple[Family, ...] = tuple(o for o in OUTCOMES if isinstance(o, Family))


def _outcomes(effects: Iterable[str] | None = None) -> tuple[Outcome, ...]:
    """The outcomes read off the counts; with `effects`, those a scenario writing them has."""
    every = tuple(o for o in OUTCOMES if isinstance(o, Outcome))
    if effects is None:
        return every
    written = set(effects)
    return tuple(o for o in every if o.effect is None or o.effect in written)


# Every outcome key that does not depend on the scenario's places.
FIXED_OUTCOME_KEYS: tuple[str, ...] = tuple(o.name for o in _outcomes())

PARTITION: tuple[str, ...] = tuple(o.name for o in _outcomes(()) if o.partition)
"""The outcomes that partition everyone who departed, at the end of a run without optional
mechanisms (`Layout.partition` has those of a given scenario)."""

MAIN_OUTCOMES = (
    "entered_guatemala",
    "returned_voluntarily",
    "remitted",
    "moved_on_toward_mexico",
    "reached_mexican_border",
    "tested_positive",
)
"""The outcomes tables and plots of many runs show first."""


@dataclass(frozen=True)
class Layout:
    """What a run of one scenario records and reports: the counters of the mechanisms its rules
    switch on (`effects`), an entry outcome per crossing into Guatemala, a return outcome per
    return point, a peak per place where a rule holds people (in the order of the scenario's
    authorities), and the departures from each origin where waves leave from several
    (`origins`; empty for one).

    `absent` names columns of counters added since a run directory was written: a layout read
    back from such a directory leaves them out, with the outcomes that read them."""

    effects: frozenset[str] = frozenset()
    entry_crossings: tuple[str, ...] = ()
    hold_places: tuple[str, ...] = ()
    return_points: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    absent: frozenset[str] = frozenset()

    def _in_use(self, counters: tuple[Counter, ...]) -> tuple[Counter, ...]:
        return tuple(c for c in in_use(counters, self.effects) if c.column not in self.absent)

    @cached_property
    def counters(self) -> tuple[Counter, ...]:
        return self._in_use(COUNTERS)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The time-series columns of `Results.counts`, in order."""
        return tuple(c.column for c in self.counters)

    @cached_property
    def counter_indices(self) -> tuple[int, ...]:
        """Where each of `columns` is among the kernel's counters."""
        return tuple(COUNTERS.index(c) for c in self.counters)

    @cached_property
    def place_counters(self) -> tuple[Counter, ...]:
        return self._in_use(PLACE_COUNTERS)

    @cached_property
    def place_columns(self) -> tuple[str, ...]:
        """The per-place columns of `Results.places`, in order."""
        return tuple(c.column for c in self.place_counters)

    @cached_property
    def place_indices(self) -> tuple[int, ...]:
        return tuple(PLACE_COUNTERS.index(c) for c in self.place_counters)

    @property
    def partition(self) -> tuple[str, ...]:
        return tuple(o.name for o in _outcomes(self.effects) if o.partition)

    def outcome_keys(self) -> list[str]:
        """Every outcome key of a whole run, in order."""
        return list(self._keyed(at_end=True))

    def _keyed(self, at_end: bool) -> dict[str, Outcome | tuple[Family, str]]:
        """The outcomes by key; departures by origin only `at_end` (a run counts them then),
        and entries by crossing only there too if they were not counted step by step (a run
        directory written by 0.1)."""
        by_step = "new_entered_here" not in self.absent
        places = {
            DEPARTED_BY_ORIGIN: self.origins if at_end else (),
            ENTRIES_BY_CROSSING: self.entry_crossings if at_end or by_step else (),
            RETURNS_BY_POINT: () if "new_returned_here" in self.absent else self.return_points,
            HELD_PEAK: self.hold_places,
        }
        out: dict[str, Outcome | tuple[Family, str]] = {}
        for item in OUTCOMES:
            if isinstance(item, Outcome):
                written = item.effect is None or item.effect in self.effects
                if written and item.reads not in self.absent:
                    out[item.name] = item
            else:
                out.update({item.key(p): (item, p) for p in places[item]})
        return out

    def compute(
        self,
        counts: npt.NDArray[np.int64],
        places: npt.NDArray[np.int64],
        place_ids: Sequence[str],
        departed_by_origin: Mapping[str, int] | None,
    ) -> dict[str, int]:
        """Outcomes from a run's counts (columns `self.columns`) and per-place counts (columns
        `self.place_columns`) up to some step; without `departed_by_origin` (counted at the
        end of a run only), the departures by origin are left out."""
        totals = Totals(counts, self.columns)
        out: dict[str, int] = {}
        for key, item in self._keyed(departed_by_origin is not None).items():
            if isinstance(item, Outcome):
                out[key] = int(item.value(totals))
                continue
            family, place = item
            if family is DEPARTED_BY_ORIGIN:
                assert departed_by_origin is not None
                out[key] = int(departed_by_origin[place])
            else:
                at = places[:, list(place_ids).index(place)]
                out[key] = self._per_place(family, at)
        return out

    def _per_place(self, family: Family, at: npt.NDArray[np.int64]) -> int:
        """A per-place family's value from one place's counts ([step, column])."""
        if family is RETURNS_BY_POINT:
            return int(at[:, self.place_columns.index("new_returned_here")].sum())
        if family is ENTRIES_BY_CROSSING:
            return int(at[:, self.place_columns.index("new_entered_here")].sum())
        import numpy as np  # noqa: PLC0415 - checking a scenario reads this module, not arrays

        return int(np.max(at[:, self.place_columns.index("n_held")], initial=0))


def outcome_label(key: str) -> str:
    """An outcome's label for tables and plots."""
    for item in OUTCOMES:
        if isinstance(item, Outcome) and item.name == key:
            return item.label
        if isinstance(item, Family) and (place := item.place_of(key)) is not None:
            return item.label.format(place=place)
    raise KeyError(f"no outcome {key!r}")


def is_known_key(key: str) -> bool:
    """Whether some scenario can report the outcome `key` (a fixed key, or one of a family)."""
    return key in FIXED_OUTCOME_KEYS or any(f.place_of(key) for f in FAMILIES)
