"""One style for every figure: font sizes, line widths, a colour-blind-safe palette, spines and
grid, as matplotlib settings (`RC`), and the words figures show for the model's names.

Every plot function draws inside `styled` (a decorator: the settings hold while it draws, and
nothing global changes, so a notebook's own style is left alone); `sim.plots._common`'s
`_figure_and_axes` makes its Figure and axes under them too. No pyplot: choosing no backend.

Colours are Okabe and Ito's palette ("Color Universal Design", 2008), which readers with the
common colour-vision deficiencies can tell apart; curves that share a colour or lie on one
another are told apart by their dash patterns (`DASHES`).

Words: `outcome_words` (an outcome key in words, place ids as their names), `column_words` (a
time-series column), `target_words` (a reported figure: what it counts and when),
`parameter_words` (a sweep or calibration parameter's label, with its unit), and `with_unit`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, cast

import matplotlib as mpl
from cycler import cycler

from sim.results_schema import FAMILIES, column_label, outcome_label

# Okabe-Ito, in the order figures take them (yellow last: it is faint on white).
COLORS: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "black": "#000000",
    "yellow": "#F0E442",
}
PALETTE: tuple[str, ...] = tuple(COLORS.values())
GREY = "0.55"  # reported figures' tolerances, reference lines
LIGHT_GREY = "0.8"

# Dash patterns (on, off in points) for curves drawn together: solid first.
DASHES: tuple[str | tuple[float, tuple[float, ...]], ...] = (
    "solid",
    (0, (5.0, 2.0)),
    (0, (1.0, 1.5)),
    (0, (6.0, 2.0, 1.0, 2.0)),
    (0, (3.0, 1.5, 1.0, 1.5, 1.0, 1.5)),
)

BASE_FONT_PT = 10.0
LINE_WIDTH_PT = 1.6

RC: dict[str, Any] = {
    "font.size": BASE_FONT_PT,
    "axes.titlesize": BASE_FONT_PT + 1,
    "axes.titleweight": "normal",
    "axes.labelsize": BASE_FONT_PT,
    "xtick.labelsize": BASE_FONT_PT - 1,
    "ytick.labelsize": BASE_FONT_PT - 1,
    "legend.fontsize": BASE_FONT_PT - 1,
    "legend.title_fontsize": BASE_FONT_PT - 1,
    "legend.frameon": False,
    "figure.titlesize": BASE_FONT_PT + 2,
    "figure.titleweight": "bold",
    "lines.linewidth": LINE_WIDTH_PT,
    "lines.markersize": 5.0,
    "patch.linewidth": 0.8,
    "axes.linewidth": 0.8,
    "axes.edgecolor": "0.25",
    "axes.labelcolor": "0.1",
    "axes.spines.top": False,
    "axes.spines.right": False,
    # a Cycler, not its text: solara's server (caravan lab) scopes rcParams in a way that
    # stores values unvalidated, and matplotlib then finds a str where it needs a Cycler
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "axes.grid": False,  # each plot turns on the grid lines it needs (a map needs none)
    "axes.axisbelow": True,
    "grid.color": "0.88",
    "grid.linewidth": 0.6,
    "grid.alpha": 1.0,
    "xtick.color": "0.25",
    "ytick.color": "0.25",
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "image.cmap": "viridis",  # perceptually uniform and colour-blind safe
    "svg.fonttype": "none",  # text stays text in SVG: editable, searchable
    "pdf.fonttype": 42,  # TrueType in PDF, as journals ask
}
"""The matplotlib settings every figure is drawn under."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def context() -> AbstractContextManager[None]:
    """A `with` block under `RC` (matplotlib's settings as they were after it)."""
    return mpl.rc_context(cast(Any, RC))  # typed with every key as a Literal; RC's are str


def styled(draw: Callable[_P, _R]) -> Callable[_P, _R]:
    """`draw`, run under `RC` (matplotlib reads most settings when an artist is made)."""

    @functools.wraps(draw)
    def under_style(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with context():
            return draw(*args, **kwargs)

    return under_style


def colors(n: int) -> list[str]:
    """n colours of the palette, in order, repeating after its length."""
    return [PALETTE[k % len(PALETTE)] for k in range(n)]


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------

PEOPLE_AXIS = "People"

# Sums of outcomes that sources report under a name of their own.
_NAMED_SUMS: dict[frozenset[str], str] = {
    frozenset({"returned_after_entering", "remitted"}): "processed by Guatemala",
    frozenset({"returned_voluntarily", "remitted"}): "returned or remitted",
    frozenset(
        {"returned_voluntarily", "remitted", "deported_after_quarantine"}
    ): "back in Honduras (returned, remitted or deported)",
}

# A label's last words that name a unit, as the unit reads in a figure (longest first).
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_per_h", "per hour"),
    ("_kmh", "km/h"),
    ("_km", "km"),
    ("_h", "h"),
    ("_days", "days"),
)
_PEOPLE_WORDS = ("force", "size", "count")  # a parameter counting people ends in one of these
_ABBREVIATIONS = {"gt": "in Guatemala", "hn": "in Honduras", "mx": "in Mexico", "covid": "COVID"}


def sentence(text: str) -> str:
    """`text` with its first letter a capital."""
    return text[:1].upper() + text[1:]


def with_unit(text: str, unit: str) -> str:
    """ "Entered Guatemala (people)": the text, its first letter a capital, and the unit."""
    return f"{sentence(text)} ({unit})"


def place_words(place_id: str, place_names: Mapping[str, str] | None = None) -> str:
    """A place's name: from `place_names` (id -> name), else its id in words, capitalised."""
    if place_names and place_id in place_names:
        return place_names[place_id]
    return " ".join(w.upper() if w in {"hn", "gt", "mx"} else w.title() for w in _words(place_id))


def outcome_words(key: str, place_names: Mapping[str, str] | None = None) -> str:
    """An outcome in words, from the results schema, its first letter a capital: a place's id
    in a per-place outcome is its name (`place_names`, else the id in words)."""
    try:
        label = outcome_label(key)
    except KeyError:
        return sentence(" ".join(_words(key)))
    place = _place_in_key(key)
    if place is not None:  # the family's label names the place by its id
        label = label.replace(place, place_words(place, place_names))
    return sentence(label)


def _place_in_key(key: str) -> str | None:
    for family in FAMILIES:
        place = family.place_of(key)
        if place:
            return place
    return None


def column_words(column: str) -> str:
    """A time-series column (`n_*`, `new_*`, `cum_*`) in words, first letter a capital."""
    return sentence(column_label(column))


def sum_words(keys: Sequence[str], place_names: Mapping[str, str] | None = None) -> str:
    """Outcomes summed, in words: a name sources give the sum, or the outcomes joined by "+"."""
    named = _NAMED_SUMS.get(frozenset(keys))
    if named is not None and len(keys) > 1:
        return sentence(named)
    parts = [outcome_words(k, place_names) for k in keys]
    return " + ".join([parts[0], *(p[:1].lower() + p[1:] for p in parts[1:])])


def target_words(
    outcome: Sequence[str], by: datetime | None, place_names: Mapping[str, str] | None = None
) -> str:
    """A reported figure in words: what it counts, and the time it is dated to, if any."""
    what = sum_words(outcome, place_names)
    return what if by is None else f"{what}, by {by:%d %b %H:%M}"


def parameter_words(label: str) -> str:
    """A parameter's label in words with its unit, read off the label's last words:
    "walking_speed_kmh" -> "Walking speed (km/h)", "caravan_size" -> "Caravan size (people)",
    "checkpoint_intercept_chance" -> "Checkpoint intercept chance (probability)"."""
    unit = None
    stem = label
    for suffix, words in _UNIT_SUFFIXES:
        if label.endswith(suffix) and len(label) > len(suffix):
            stem, unit = label[: -len(suffix)], words
            break
    if label.endswith("_share"):
        unit = "0 to 1"
    if unit is None and label.endswith(_PEOPLE_WORDS):
        unit = "people"
    if unit is None and "chance" in label:
        unit = "probability"
    words = " ".join(_ABBREVIATIONS.get(w, w) for w in _words(stem))
    return with_unit(words, unit) if unit else sentence(words)


def _words(name: str) -> list[str]:
    """A snake_case or dotted name's words."""
    return [w for w in re.split(r"[_.\s]+", name) if w]
