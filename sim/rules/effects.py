"""The effect vocabulary: what rules may ask of places and roads, and the only thing the migrant
kernel reads of them.

Rules never touch migrants and the kernel never knows which rule asked for what. Each step, the
rules in force write effects into two record arrays, one record per place (`PLACE_EFFECTS`) and
one per road (`ROAD_EFFECTS`); the kernel applies them to every migrant there. An effect that
`lasts` for a "window" stands until a rule writes it again (rules write it when their window
opens and undo it when it closes); one that lasts a "step" is reset before every step. An effect
that `combines` may be written by several rules at one place at once: each adds its share (every
step for one that lasts a step; for one that lasts a window, once when it opens, taken back when
it closes). Any other is refused to two rules in force at one place.

The vocabulary is declared as data below, with each effect's meaning; `describe()` prints it.
Migrants who give up at a place, or are cleared from it, "go back": they wait there for return
transport where a rule runs it (`transport`), and otherwise are back at the place's return point
at once. The kernel applies the effects in the order given in `sim.kernels.passes`.

How the mechanisms planned next fit it:
- rides that depend on policy: a rule scales `ride_factor` where its policy stands (the
  `state_of_prevention` rule);
- return transport with a capacity and a travel time: `transport`, `board_chance`,
  `transport_to`, `transport_steps` (the `return_transport` rule);
- border forces that stand down once overrun: the rule lets go and undoes its `hold`, a
  decision of the rule alone (`border_control`'s `force_share_after_breakthrough`);
- road closures and re-routing: `closed` stops people before a road (the `road_closure` rule);
  with `route_choice.reroute_at_closures`, people there take another route of their origin's
  that shares their journey so far and goes on by an open road, drawn with the departure
  weights renormalised among those (`sim.kernels.rules.reroute`, on the alternatives
  `sim.network` lists for each route and place); with none, they wait;
- giving up while travelling: `give_up_per_h` on roads (the `state_of_prevention` rule writes
  it; other enforcement, such as a blockade known ahead, would add its share), with the same way
  back as at a place (transport or the return point);
- people joining along the way and several origins: departures, not effects (the population
  and the route sets gain an origin per group).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Lasts = Literal["window", "step"]


@dataclass(frozen=True)
class Effect:
    """One field of the per-place or per-road record: its type, value when no rule writes it,
    how long a written value lasts, and what the kernel does with it."""

    name: str
    dtype: str
    default: float
    lasts: Lasts
    unit: str  # what a value means: a share, a chance per step, a place index, ...
    doc: str
    phrase: str = ""  # "holds people": for messages about two rules writing it at once
    combines: bool = False  # rules in force add their values, not overwrite


PLACE_EFFECTS: tuple[Effect, ...] = (
    Effect(
        "hold",
        "u1",
        0,
        "window",
        "hold class",
        "hold class (1, 2, ... as in sim.results_schema.HOLD_CLASSES; 0: none) in which everyone "
        "on the road who reaches the place is held, until released, cleared, or they give up, "
        "slip past or test positive; people off the road pass",
        phrase="holds people",
    ),
    Effect("release", "u1", 0, "step", "0/1", "1: those held here go on, and arrivals pass"),
    Effect(
        "clear",
        "u1",
        0,
        "step",
        "0/1",
        "1: those held here are cleared: a share `clear_return_share` go back, the rest leave "
        "the road",
    ),
    Effect("clear_return_share", "f8", 0.0, "window", "share", "share of the cleared who go back"),
    Effect(
        "give_up_scale_h",
        "f8",
        1.0,
        "window",
        "hours",
        "Weibull scale (hours) of the hazard of giving up while held here",
    ),
    Effect("give_up_shape", "f8", 1.0, "window", "shape", "Weibull shape of that hazard"),
    Effect(
        "give_up_return_share",
        "f8",
        1.0,
        "window",
        "share",
        "share of those giving up here who go back; the rest leave the road",
    ),
    Effect(
        "slip_chance",
        "f8",
        0.0,
        "window",
        "chance per step",
        "chance per step that a held group gets past",
    ),
    Effect(
        "intercept_chance",
        "f8",
        0.0,
        "window",
        "chance per pass",
        "chance that a group passing is intercepted and deported (remitted)",
    ),
    Effect(
        "dispersed_intercept_factor",
        "f8",
        1.0,
        "window",
        "factor",
        "multiplies `intercept_chance` for people off the road",
    ),
    Effect(
        "test_chance_arrival",
        "f8",
        0.0,
        "window",
        "chance per pass",
        "chance that a person passing who was never tested is tested",
    ),
    Effect(
        "test_chance_held",
        "f8",
        0.0,
        "window",
        "chance per step",
        "chance per step that a person held here who was never tested is tested",
    ),
    Effect(
        "ride_factor",
        "f8",
        1.0,
        "window",
        "factor",
        "multiplies the chance per step of a ride on a road leading to this place (applied to "
        "the step's ride chances before the kernel runs)",
    ),
    Effect(
        "transport",
        "u1",
        0,
        "window",
        "0/1",
        "1: return transport serves this place: those who go back from here wait for it "
        "instead of making their own way back",
        phrase="runs return transport",
    ),
    Effect(
        "board_chance",
        "f8",
        0.0,
        "step",
        "chance per step",
        "chance this step that a group waiting here boards (vehicles' seats over the crowd)",
    ),
    Effect(
        "transport_to",
        "i2",
        -1,
        "window",
        "place index",
        "the place the vehicles carry people to (-1: the place's nearest return point)",
    ),
    Effect(
        "transport_steps",
        "i4",
        0,
        "window",
        "steps",
        "whole steps the ride takes; riders are counted as returned when they arrive",
    ),
)

ROAD_EFFECTS: tuple[Effect, ...] = (
    Effect(
        "speed_factor",
        "f8",
        1.0,
        "window",
        "factor",
        "multiplies the speed of everyone who sets out along the road this step",
    ),
    Effect(
        "closed",
        "u1",
        0,
        "window",
        "rules closing it",
        "above 0: nobody sets out along the road; those who would wait at the place before it "
        "(or take another route from there: `route_choice.reroute_at_closures`); each rule in "
        "force adds 1, and takes it back when its window ends",
        phrase="closes the road",
        combines=True,
    ),
    Effect(
        "give_up_per_h",
        "f8",
        0.0,
        "step",
        "hazard per hour",
        "hazard per hour that a group setting out along the road gives up and goes back (as "
        "from the place it last passed); rules in force add their share each step; it grows "
        "with the hours since the group left (`movement.give_up_on_road_growth_h`), is "
        "scaled off the main road (`movement.dispersed_give_up_factor`), and spares the "
        "determined (`movement.determined_share`)",
        combines=True,
    ),
)


@cache
def record_dtype(on: Literal["place", "road"]) -> np.dtype[np.void]:
    """The per-place or per-road record (numba reads a record without reference counting; see
    the kernel). Made on first use, so that checking a scenario, which needs the vocabulary and
    not the arrays, does not import NumPy."""
    import numpy as np  # noqa: PLC0415 - see the docstring

    effects = PLACE_EFFECTS if on == "place" else ROAD_EFFECTS
    return np.dtype([(e.name, e.dtype) for e in effects], align=True)


def __getattr__(name: str) -> Any:
    """`PLACE_EFFECT` and `ROAD_EFFECT`: `record_dtype("place")` and `record_dtype("road")`."""
    if name == "PLACE_EFFECT":
        return record_dtype("place")
    if name == "ROAD_EFFECT":
        return record_dtype("road")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


EFFECT_NAMES = frozenset(e.name for e in (*PLACE_EFFECTS, *ROAD_EFFECTS))


def effect(name: str) -> Effect:
    for e in (*PLACE_EFFECTS, *ROAD_EFFECTS):
        if e.name == name:
            return e
    raise KeyError(f"no effect {name!r}; the vocabulary is {sorted(EFFECT_NAMES)}")


class Effects:
    """The effects in force: `place[p]` and `road[k]` records, written by rules, read by the
    kernel."""

    def __init__(self, n_places: int, n_roads: int) -> None:
        import numpy as np  # noqa: PLC0415 - see record_dtype

        self.place: npt.NDArray[np.void] = np.zeros(n_places, dtype=record_dtype("place"))
        self.road: npt.NDArray[np.void] = np.zeros(n_roads, dtype=record_dtype("road"))
        for table, effects in ((self.place, PLACE_EFFECTS), (self.road, ROAD_EFFECTS)):
            for e in effects:
                table[e.name] = e.default

    def on_roads(self) -> bool:
        """Whether any road has an effect other than its default."""
        import numpy as np  # noqa: PLC0415 - see record_dtype

        return any(bool(np.any(self.road[e.name] != e.default)) for e in ROAD_EFFECTS)

    def start_step(self) -> None:
        """Reset the effects that last one step."""
        for table, effects in ((self.place, PLACE_EFFECTS), (self.road, ROAD_EFFECTS)):
            for e in effects:
                if e.lasts == "step":
                    table[e.name] = e.default


def describe() -> str:
    """The vocabulary as a Markdown table."""
    rows = [
        "| effect | on | value | default | lasts | what the kernel does |",
        "|---|---|---|---|---|---|",
    ]
    for on, effects in (("place", PLACE_EFFECTS), ("road", ROAD_EFFECTS)):
        rows += [
            f"| `{e.name}` | {on} | {e.unit} | {e.default:g} | {e.lasts} | {e.doc} |"
            for e in effects
        ]
    return "\n".join(rows)
