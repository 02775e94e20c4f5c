"""A validation (`caravan validate`): `validation_intervals`, each reported figure beside the
model's median and 90% interval over replicates, every row on its own scale relative to the
figure, so a count of 21 and one of 4,957 are equally readable."""

from __future__ import annotations

import math
import textwrap
from datetime import datetime
from typing import TYPE_CHECKING

from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from sim.plots import style
from sim.plots._common import _figure_and_axes, root_figure

if TYPE_CHECKING:  # the data only: plotting runs nothing
    from sim.calibrate.validation_record import TargetCheck, Validation

MAX_FACTOR = 32.0  # the scale runs at most from 1/32 to 32 times the figure; beyond: at the edge
MIN_FACTOR = 2.0  # and at least from 1/2 to 2 times
TITLE_CHARS_PER_IN = 10  # characters of the title to the inch of the figure's width


def row_reference(check: TargetCheck) -> float:
    """What a row is scaled by: the reported figure; for a range with no number, its middle
    (its lower end if it is open above); 1 (people) if that is 0."""
    if check.reported is not None and check.reported > 0:
        return check.reported
    if check.band is not None:
        lo, hi = check.band
        middle = (lo + hi) / 2 if math.isfinite(hi) else lo
        if middle > 0:
            return middle
    return 1.0


@style.styled
def validation_intervals(validation: Validation, ax: Axes | None = None) -> Figure:
    """One row per figure, scaled by `row_reference`: the model's 90% interval over replicates
    (a line; blue where the figure is inside it, red where not) and median (a dot), the
    reported figure (a white diamond, at 1) and what its tolerance accepts (a grey bar; for a
    range with no number, the range). Log scale: half and twice the figure are as far from it.
    Values beyond the scale, and zero, are drawn at its edge. The numbers themselves are
    written at the right of each row."""
    checks = validation.checks
    own_figure = ax is None
    fig, ax = _figure_and_axes(ax, (9.5, 0.42 * len(checks) + 1.8))
    lo_x, hi_x = _limits(checks)

    def at(value: float, reference: float) -> float:
        return min(max(value / reference, lo_x), hi_x)

    numbers = blended_transform_factory(ax.transAxes, ax.transData)
    for row, check in enumerate(checks):
        ref = row_reference(check)
        if check.band is not None:
            lo, hi = check.band
            ax.plot([at(lo, ref), at(hi, ref)], [row, row], color=style.LIGHT_GREY, linewidth=8)
        colour = style.COLORS["blue"] if check.inside else style.COLORS["vermillion"]
        ax.plot([at(check.p05, ref), at(check.p95, ref)], [row, row], color=colour, linewidth=2)
        ax.plot([at(check.median, ref)], [row], marker="o", color=colour, linestyle="none")
        if check.reported is not None:
            ax.plot(
                [at(check.reported, ref)],
                [row],
                marker="D",
                markersize=8,
                markerfacecolor="white",
                markeredgecolor="black",
                linestyle="none",
                zorder=3,
            )
        numbers_text = f"{check.reported_text}  |  {check.model_text}"
        ax.text(1.01, row, numbers_text, transform=numbers, va="center", fontsize="small")
    _axes(ax, validation, lo_x, hi_x, own_figure)
    return fig


def _limits(checks: tuple[TargetCheck, ...]) -> tuple[float, float]:
    """Powers of 2 that hold every ratio to the row's reference, within the factors above."""
    ratios = []
    for check in checks:
        ref = row_reference(check)
        shown = [check.p05, check.median, check.p95, *(check.band or ())]
        ratios += [v / ref for v in shown if 0 < v < math.inf]
    lo = min(ratios, default=1.0)
    hi = max(ratios, default=1.0)
    lo_x = 2.0 ** max(math.floor(math.log2(lo)), -math.log2(MAX_FACTOR))
    hi_x = 2.0 ** min(math.ceil(math.log2(hi)), math.log2(MAX_FACTOR))
    return min(lo_x, 1 / MIN_FACTOR), max(hi_x, MIN_FACTOR)


def _axes(ax: Axes, validation: Validation, lo_x: float, hi_x: float, own_figure: bool) -> None:
    checks = validation.checks
    ax.axvline(1.0, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_xscale("log", base=2)
    ax.set_xlim(lo_x, hi_x)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=2))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(_factor))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    names = [
        style.target_words(c.outcome, None if c.by is None else datetime.fromisoformat(c.by))
        for c in checks
    ]
    ax.set_yticks(range(len(checks)), names)
    ax.set_ylim(len(checks) - 0.5, -0.5)  # first figure on top
    ax.set_xlabel("Model / reported figure (log scale; a range with no number: / its middle)")
    what = (
        f"{validation.scenario} against '{validation.target_set}': median and 90% interval "
        f"of {validation.replicates} replicates"
    )
    key = (
        "Diamond: reported figure; grey: what its tolerance accepts; red: the figure lies "
        "outside the model's interval. Right: reported  |  model median [90% interval]"
    )
    # Wrapped: a title on one line would run past the figure's edges. On a figure of its own,
    # the figure's title (centred on the figure, so as wide as it); else the axes' (narrower).
    fig = root_figure(ax)
    if own_figure:
        chars = int(TITLE_CHARS_PER_IN * fig.get_figwidth())
        fig.suptitle(
            f"{textwrap.fill(what, chars)}\n{textwrap.fill(key, chars)}",
            fontsize="large",
            fontweight="normal",
        )
    else:
        chars = int(TITLE_CHARS_PER_IN * fig.get_figwidth() * ax.get_position().width)
        ax.set_title(f"{textwrap.fill(what, chars)}\n{textwrap.fill(key, chars)}")
    ax.grid(True, axis="x")


def _factor(x: float, _: object) -> str:
    if x >= 1:
        return f"\N{MULTIPLICATION SIGN}{x:g}"
    return f"\N{MULTIPLICATION SIGN}1/{1 / x:g}"
