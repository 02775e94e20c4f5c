"""What the plot modules share: the Figure a function draws on (made under the common style,
`sim.plots.style`), its runs as a list, and colours in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots import style
from sim.results import Results


def _figure_and_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    """`ax` and its Figure, or a new Figure of `size` (inches) and its axes, made under the
    common style (spines, grid, fonts), with a constrained layout so no text is cut off."""
    if ax is not None:
        return root_figure(ax), ax
    with style.context():
        fig = Figure(figsize=size, layout="constrained")
        return fig, fig.add_subplot()


def root_figure(ax: Axes) -> Figure:
    """The Figure an axes is drawn in (through any subfigures)."""
    figure: Any = ax.figure
    while not isinstance(figure, Figure):
        figure = figure.figure
    return figure


def _as_list(runs: Results | Sequence[Results]) -> list[Results]:
    replicates = [runs] if isinstance(runs, Results) else list(runs)
    if not replicates:
        raise ValueError("no runs to plot")
    return replicates


def _cycle_colors(n: int) -> list[str]:
    return style.colors(n)
