"""The `caravan lab` page: Mesa's SolaraViz around a `LabModel`, with views of our own.

Mesa's SolaraViz gives the controls (step, play, reset) and the model parameters (the caravan,
the seed and the policy levers of `sim.lab.levers`; a change takes effect at Reset). Its Altair
space view cannot draw a road network, so the map is `sim.plots.network_map` (matplotlib)
drawn to an image. Page 0: the map, the headline numbers and the live curves with the dated
reported figures; page 1: the outcomes against the caravan's target sets; page 2: the
comparison with the calibrated scenario (paired by seed).

`caravan lab` serves this module with solara (`sim.lab.server`); the caravan to open is read
from the environment variable `LAB_CARAVAN_ENV` names. Only the Mesa API that 3.3 and 3.5 share
is used: `SolaraViz(model, components=[(view, page)], model_params=..., name=...)`, parameters
of types SliderInt, SliderFloat, Select and Checkbox, and `update_counter`.
"""

from __future__ import annotations

import html
import io
import os
from collections.abc import Callable, Sequence
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim import plots
from sim.lab.levers import AS_SCENARIO, Levers
from sim.lab.model import (
    DEFAULT_CARAVAN,
    LabModel,
    calibrated_scenario,
    compare,
    outcome_rows,
    shipped_caravans,
    target_sets_of,
)
from sim.lab.server import LAB_CARAVAN_ENV
from sim.results import Results

MAP_DPI = 80
CURVES_DPI = 80


def model_params(caravan: str) -> dict[str, Any]:
    """SolaraViz's model parameters: the caravan, the seed and each lever (`Levers`), with
    the ranges the sliders offer."""
    caravans = shipped_caravans()
    if caravan not in caravans:
        caravans.append(caravan)  # a scenario file of the user's own
    places = [p.id for p in calibrated_scenario(caravan).network.places]
    defaults = Levers()
    return {
        "caravan": {"type": "Select", "value": caravan, "values": caravans, "label": "caravan"},
        "seed": _int_slider("seed (random numbers)", 0, 0, 99),
        "blockade": _switch("blockade", defaults.blockade),
        "blockade_place": {
            "type": "Select",
            "value": AS_SCENARIO,
            "values": [AS_SCENARIO, *places],
            "label": "blockade at",
        },
        "blockade_shift_h": _int_slider("blockade moved by (hours)", 0, -48, 48),
        "blockade_extra_h": _int_slider("blockade longer by (hours)", 0, -36, 72),
        "border_force_factor": _float_slider("border forces (x, 0: none)", 1.0, 0.0, 3.0, 0.1),
        "checkpoint_intercept_factor": _float_slider(
            "checkpoint interception (x)", 1.0, 0.0, 3.0, 0.1
        ),
        "testing_factor": _float_slider("COVID-19 testing (x)", 1.0, 0.0, 10.0, 0.5),
        "return_transport": _switch("return transport", defaults.return_transport),
        "road_give_up_factor": _float_slider("giving up on the road (x)", 1.0, 0.0, 5.0, 0.1),
    }


def _int_slider(label: str, value: int, lo: int, hi: int) -> dict[str, Any]:
    return {"type": "SliderInt", "value": value, "min": lo, "max": hi, "step": 1, "label": label}


def _float_slider(label: str, value: float, lo: float, hi: float, step: float) -> dict[str, Any]:
    return {
        "type": "SliderFloat",
        "value": value,
        "min": lo,
        "max": hi,
        "step": step,
        "label": label,
    }


def _switch(label: str, value: bool) -> dict[str, Any]:
    return {"type": "Checkbox", "value": value, "label": label}


def _png(fig: Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _image(png: bytes, css_class: str) -> None:
    with solara.Column(classes=[css_class]):
        solara.Image(png, width="100%")


def map_png(model: LabModel, results: Results) -> bytes:
    """The network at the last step run: people at places and on roads, the held, and the
    authorities (faint outside their windows)."""
    fig = Figure(figsize=(9, 7.5))
    plots.network_map(results, model.caravan_scenario, step=results.n_steps - 1, ax=fig.subplots())
    return _png(fig, MAP_DPI)


def curves_png(model: LabModel, results: Results) -> bytes:
    """The main stocks and the running totals so far, with the dated reported figures."""
    fig = Figure(figsize=(10, 8), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    plots.timeseries(results, plots.PEOPLE_BY_STATE, ax=top)
    plots.timeseries(results, plots.CUMULATIVE, target_sets_of(model.caravan_scenario), ax=bottom)
    return _png(fig, CURVES_DPI)


def headline_numbers(model: LabModel, results: Results | None) -> dict[str, str]:
    """What the map's box counts, and the time and authorities in force, as text."""
    numbers = {"step": f"{model.steps} of {model.n_steps}"}
    if results is None:
        return numbers
    s = {name: int(values[-1]) for name, values in results.series().items()}
    back = s["cum_returned_voluntarily"] + s["cum_remitted"] + s["cum_deported_after_quarantine"]
    numbers |= {
        "time": f"{results.times[-1]:%a %d %b %Y %H:%M}",
        "departed": f"{s['cum_departed']:,}",
        "on the road": f"{s['n_moving'] + s['n_dispersed']:,}",
        "held": f"{s['n_held_border'] + s['n_held_blockade']:,}",
        "in quarantine": f"{s['n_quarantined']:,}",
        "back in Honduras": f"{back:,}",
        "at the Mexican border": f"{s['cum_reached_mexican_border']:,}",
        "in force": ", ".join(a.rule.name for a in model.authorities if a.rule.active) or "none",
    }
    return numbers


@solara.component
def MapAndNumbers(model: LabModel) -> None:
    """The map and the headline numbers at the last step run."""
    update_counter.get()
    results = model.results_so_far()
    with solara.Column():
        if model.refused is not None:
            solara.Error(f"Settings refused, so the calibrated scenario runs: {model.refused}")
        numbers = headline_numbers(model, results)
        with solara.Row(classes=["caravan-numbers"], style={"flex-wrap": "wrap"}):
            for label, value in numbers.items():
                solara.Text(f"{label}: {value}", classes=["caravan-number"])
        if results is None:
            solara.Info("Press Step (or play) to start the caravan.")
        else:
            _image(map_png(model, results), "caravan-map")


@solara.component
def Curves(model: LabModel) -> None:
    update_counter.get()
    results = model.results_so_far()
    if results is not None:
        _image(curves_png(model, results), "caravan-curves")


@solara.component
def OutcomeTable(model: LabModel) -> None:
    """Each reported figure of the caravan's target sets beside the model so far."""
    update_counter.get()
    results = model.results_so_far()
    if results is None:
        solara.Info("The outcomes appear after the first step.")
        return
    rows = outcome_rows(results, target_sets_of(model.caravan_scenario), not model.running)
    head = ("target set", "reported figure of", "reported", "model", "tolerance")
    body = [(r.target_set, r.outcome, r.reported, _count(r.model), r.status) for r in rows]
    solara.HTML(tag="table", unsafe_innerHTML=_table_html(head, body))


@solara.component
def Comparison(model: LabModel) -> None:
    """The current settings against the calibrated scenario, run with the same seeds."""
    png, set_png = solara.use_state(b"")
    key = (model.caravan, model.levers, model.seed)
    shown_for, set_shown_for = solara.use_state(key)

    def run_comparison() -> None:
        done = compare(model.caravan, model.levers, model.seed)
        fig = Figure(figsize=(9, 5), layout="constrained")
        plots.paired_differences(done.variants(), "calibrated", done.outcomes, ax=fig.subplots())
        set_png(_png(fig, CURVES_DPI))
        set_shown_for(key)

    changed = ", ".join(f"{name} = {value}" for name, value in model.levers.changes().items())
    solara.HTML(
        tag="p",
        unsafe_innerHTML="<b>Current settings</b> (changed from the calibrated scenario): "
        + html.escape(changed or "none"),
    )
    solara.Button(
        "Compare with the calibrated scenario (5 seeds each)",
        on_click=run_comparison,
        color="primary",
        classes=["caravan-compare"],
    )
    if png and shown_for == key:
        _image(png, "caravan-comparison")


def _table_html(head: tuple[str, ...], body: Sequence[tuple[str, ...]]) -> str:
    """An HTML table's rows, escaped (plain HTML, not solara's Markdown, which fetches KaTeX
    from a CDN: the lab works offline)."""

    def row(cells: tuple[str, ...], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

    return row(head, "th") + "".join(row(cells, "td") for cells in body)


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _view(component: Callable[..., Any]) -> Callable[[LabModel], Any]:
    """A plain function, so that SolaraViz wraps it and redraws it after every step."""

    def view(model: LabModel) -> Any:
        return component(model)

    return view


def page(model: LabModel, params: dict[str, Any]) -> Any:
    """SolaraViz around `model`, with our views and `params` (`model_params`)."""
    return SolaraViz(
        model,
        components=[
            (_view(MapAndNumbers), 0),
            (_view(Curves), 0),
            (_view(OutcomeTable), 1),
            (_view(Comparison), 2),
        ],
        model_params=params,
        name=f"caravan lab: {model.caravan}",
        play_interval=150,
    )


@solara.component
def Page() -> Any:
    """One browser session: its own model, built once (SolaraViz's Reset builds the next)."""
    caravan = os.environ.get(LAB_CARAVAN_ENV, DEFAULT_CARAVAN)
    model = solara.use_memo(lambda: LabModel(caravan=caravan), [])
    params = solara.use_memo(lambda: model_params(caravan), [])
    return page(model, params)
