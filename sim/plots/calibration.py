"""Calibrations, from a calibration's summary (`summary.json`) and particles:
`posterior_pairs` (the posterior as parameter pairs), `predictive_check` (each target's
posterior predictive distribution against the reported figure), and `compare_posteriors`
(parameters under several target sets, on the priors' scale)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots import style
from sim.plots._common import _figure_and_axes

if TYPE_CHECKING:
    import pandas as pd

PAIR_LABEL_CHARS = 22  # a parameter's label in the pairs plot wraps at this width
TITLE_CHARS_PER_IN = 9  # characters of a figure's title to the inch, at its font size


@style.styled
def posterior_pairs(
    particles: pd.DataFrame,
    labels: Sequence[str],
    parameters: Mapping[str, Mapping[str, Any]],
) -> Figure:
    """The posterior as parameter pairs: weighted histograms on the diagonal (prior range as
    the x range; median and 90% credible interval marked), particles below it (darker for
    heavier weight).

    `particles` has a column per label and `weight`; `parameters` is the calibration summary's
    per-label statistics (`prior.range`, `median`, `p05`, `p95`).
    """
    n = len(labels)
    size = max(2.2 * n, 4.0)
    fig = Figure(figsize=(size, size), layout="constrained")
    axes = fig.subplots(n, n, squeeze=False)
    weights = particles["weight"].to_numpy()
    shade = 0.15 + 0.85 * weights / max(float(weights.max()), 1e-300)
    for i, row_label in enumerate(labels):
        for j, col_label in enumerate(labels):
            ax = axes[i][j]
            if j > i:
                ax.set_axis_off()
                continue
            lo, hi = parameters[col_label]["prior"]["range"]
            x = particles[col_label].to_numpy(dtype=float)
            log = parameters[col_label]["prior"]["prior"] == "loguniform"
            if i == j:
                bins = np.geomspace(lo, hi, 25) if log else np.linspace(lo, hi, 25)
                ax.hist(x, bins=bins, weights=weights, color=style.COLORS["blue"], alpha=0.7)
                stats = parameters[col_label]
                ax.axvline(stats["median"], color="k", linewidth=1.2)
                ax.axvspan(stats["p05"], stats["p95"], color=style.COLORS["orange"], alpha=0.25)
                ax.set_yticks([])
            else:
                y = particles[row_label].to_numpy(dtype=float)
                ax.scatter(x, y, s=6, c=shade, cmap="Blues", vmin=0, vmax=1)
                ylo, yhi = parameters[row_label]["prior"]["range"]
                ax.set_ylim(ylo, yhi)
                if parameters[row_label]["prior"]["prior"] == "loguniform":
                    ax.set_yscale("log")
            ax.set_xlim(lo, hi)
            if log:
                ax.set_xscale("log")
            # tick labels on the outer edges only, and no minor labels on log axes
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
            if i == n - 1:
                ax.set_xlabel(_wrapped(style.parameter_words(col_label)), fontsize="small")
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i != j:
                ax.set_ylabel(_wrapped(style.parameter_words(row_label)), fontsize="small")
            elif i != j:
                ax.tick_params(labelleft=False)
            ax.tick_params(labelsize="x-small")
    title = (
        "Posterior: parameter pairs (diagonal: weighted histogram, black line the median, "
        "orange band the 90% credible interval)"
    )
    fig.suptitle(textwrap.fill(title, int(TITLE_CHARS_PER_IN * size)))
    return fig


@style.styled
def predictive_check(
    targets: Mapping[str, Mapping[str, Any]],
    predictive: pd.DataFrame,
    place_names: Mapping[str, str] | None = None,
) -> Figure:
    """One panel per target, titled in words: the posterior predictive distribution of the
    model's value (histogram, 90% band shaded) against the observed figure (a red line) and
    the values within its tolerance (hatched); one legend and one people axis label for all.

    `targets` is the calibration summary's per-target entries; `predictive` has a column
    `target.<id>` per target, one row per predictive draw; `place_names` (id -> name) names
    the places in per-place outcomes.
    """
    ids = list(targets)
    cols = min(3, len(ids))
    rows = math.ceil(len(ids) / cols)
    fig = Figure(figsize=(4.2 * cols, 2.7 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, target_id in enumerate(ids):
        ax = axes[k // cols][k % cols]
        values = predictive[f"target.{target_id}"].to_numpy(dtype=float)
        target = targets[target_id]
        if len(values):
            ax.hist(
                values, bins=30, color=style.COLORS["blue"], alpha=0.7, label="Predictive draws"
            )
            p05, p95 = np.percentile(values, [5, 95])
            ax.axvspan(
                p05, p95, color=style.COLORS["sky"], alpha=0.2, label="Predictive 90% interval"
            )
        if target["observed"] is not None:
            ax.axvline(
                target["observed"], color=style.COLORS["vermillion"], linewidth=2, label="Observed"
            )
        band = target.get("band")
        if band is not None:
            lo, hi = band  # hi None: no upper bound
            right = ax.get_xlim()[1] if hi is None or math.isinf(hi) else hi
            ax.axvspan(
                lo,
                right,
                facecolor="none",
                edgecolor=style.COLORS["vermillion"],
                hatch="//",
                linewidth=0,
                alpha=0.5,
                label="Within tolerance",
            )
        outcome = target.get("outcome") or [target_id]
        what = style.target_words(outcome, _when(target.get("by")), place_names)
        ax.set_title(f"{what}; tolerance {target['tolerance']}", fontsize="small")
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
    for k in range(len(ids), rows * cols):
        axes[k // cols][k % cols].set_axis_off()
    handles: dict[str, Any] = {}
    for ax in axes.ravel():
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=len(handles))
    for k in range(max(len(ids) - cols, 0), len(ids)):  # the lowest panel of each column
        axes[k // cols][k % cols].set_xlabel(style.PEOPLE_AXIS)
    fig.suptitle("Posterior predictive check")
    return fig


def _wrapped(label: str) -> str:
    """A label on lines of at most PAIR_LABEL_CHARS, so neighbouring panels' labels keep apart."""
    return textwrap.fill(label, PAIR_LABEL_CHARS)


def _when(by: str | None) -> datetime | None:
    """A summary's `by` (ISO text, or none) as a time."""
    return None if by is None else datetime.fromisoformat(by)


@style.styled
def compare_posteriors(
    summaries: Mapping[str, Mapping[str, Any]], ax: Axes | None = None
) -> Figure:
    """Each parameter's posterior median and 90% credible interval under several calibrations
    (e.g. one per target set), on a common scale: the share of the parameter's prior range
    (0 its low end, 1 its high end; log ranges on the log scale). Where the intervals of two
    target sets do not overlap, the sets disagree about that parameter.

    `summaries` maps a name (the target set) to a calibration summary (`summary.json`).
    """
    names = list(summaries)
    labels = list(next(iter(summaries.values()))["parameters"])
    fig, ax = _figure_and_axes(ax, (8.0, 0.45 * len(labels) * len(names) + 1.5))
    offsets = np.linspace(-0.25, 0.25, len(names)) if len(names) > 1 else np.zeros(1)
    for k, name in enumerate(names):
        params = summaries[name]["parameters"]
        ys, mids, los, his = [], [], [], []
        for i, label in enumerate(labels):
            p = params[label]
            scale = _prior_share(p["prior"])
            ys.append(i + offsets[k])
            mids.append(scale(p["median"]))
            los.append(scale(p["p05"]))
            his.append(scale(p["p95"]))
        mid = np.array(mids)
        ax.errorbar(
            mid,
            ys,
            xerr=[mid - np.array(los), np.array(his) - mid],
            fmt="o",
            capsize=3,
            label=name,
        )
    ax.set_yticks(range(len(labels)), [style.parameter_words(label) for label in labels])
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("Position in the prior range (0: its low end, 1: its high end)")
    ax.set_title("Posterior median and 90% credible interval")
    ax.grid(True, axis="x")
    ax.legend()
    return fig


def _prior_share(prior: Mapping[str, Any]) -> Any:
    lo, hi = prior["range"]
    if prior["prior"] == "loguniform":
        return lambda x: (math.log(x) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return lambda x: (x - lo) / (hi - lo)
