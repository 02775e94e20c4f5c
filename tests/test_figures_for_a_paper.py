"""Figures ready for a paper: labels in words with units (no snake_case), every title and label
inside its figure and none over another, curves that coincide told apart, one style, and
`--format` / `--dpi` on `caravan plot` and `caravan run`."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from PIL import Image

import sim
from sim import figures, plots
from sim.background_figures import FIGURES_LOG, draw_in_background
from sim.calibrate.validation_record import TargetCheck, Validation
from sim.cli import main
from sim.plots import style
from sim.results import Results
from sim.scenario import Scenario

Run = tuple[Scenario, list[Results]]
SCENARIO = "scenarios/january-2021.yaml"
REPO = Path(__file__).resolve().parent.parent
SMALL = ["--set", "population.size=1500", "--set", "time.duration_h=30"]
NON_MAP_RUN_FIGURES = ("timeseries.png", "outcomes.png")  # the maps are drawn in maps.py
SLACK_PX = 1.0  # rounding of text extents


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------


def test_outcomes_read_as_words_with_place_names() -> None:
    key = "entered_guatemala_via_el_florido_border"
    assert style.outcome_words(key, {"el_florido_border": "El Florido"}) == (
        "Entered Guatemala at El Florido"
    )
    assert style.outcome_words(key) == "Entered Guatemala at El Florido Border"  # no names
    assert style.outcome_words("entered_guatemala_via_corinto_hn") == (
        "Entered Guatemala at Corinto HN"
    )
    assert style.outcome_words("held_at_vado_hondo_peak") == "Most held at Vado Hondo"
    assert style.outcome_words("tested_positive") == "Tested positive"
    assert style.with_unit(style.outcome_words(key, {"el_florido_border": "El Florido"}), "people")
    assert style.with_unit("entered Guatemala", "people") == "Entered Guatemala (people)"


def test_sums_and_dated_figures_read_as_words() -> None:
    processed = ["returned_after_entering", "remitted"]
    assert style.target_words(processed, None) == "Processed by Guatemala"
    assert style.target_words(["tested", "remitted"], None) == "Tested + remitted (intercepted)"
    by = pd.Timestamp("2021-01-18T23:59").to_pydatetime()
    assert style.target_words(["departed"], by) == "Departed, by 18 Jan 23:59"


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ("walking_speed_kmh", "Walking speed (km/h)"),
        ("border_push_rate_per_h", "Border push rate (per hour)"),
        ("blockade_give_up_scale_h", "Blockade give up scale (h)"),
        ("quarantine_days", "Quarantine (days)"),
        ("caravan_size", "Caravan size (people)"),
        ("el_florido_force", "El florido force (people)"),
        ("checkpoint_intercept_chance", "Checkpoint intercept chance (probability)"),
        ("ride_chance_gt_per_h", "Ride chance in Guatemala (per hour)"),
        ("clearance_return_share", "Clearance return share (0 to 1)"),
        ("prefer_el_florido", "Prefer el florido"),
    ],
)
def test_parameters_read_as_words_with_their_units(label: str, words: str) -> None:
    assert style.parameter_words(label) == words


# --------------------------------------------------------------------------------------------
# Every non-map figure of a run, a sweep and a calibration
# --------------------------------------------------------------------------------------------


def _calibration_figures() -> dict[str, Figure]:
    """A calibration's figures from a summary and draws made by hand."""
    rng = np.random.default_rng(0)
    parameters = {
        "walking_speed_kmh": {
            "prior": {"prior": "uniform", "range": [2.0, 5.0]},
            "median": 3.0,
            "p05": 2.4,
            "p95": 4.1,
        },
        "border_push_rate_per_h": {
            "prior": {"prior": "loguniform", "range": [0.01, 1.0]},
            "median": 0.1,
            "p05": 0.03,
            "p95": 0.5,
        },
    }
    posterior = pd.DataFrame(
        {
            "walking_speed_kmh": rng.uniform(2.0, 5.0, 50),
            "border_push_rate_per_h": np.exp(rng.uniform(np.log(0.01), 0.0, 50)),
            "weight": rng.uniform(0.1, 1.0, 50),
        }
    )
    targets = {
        "entered_via_el_florido": {
            "outcome": ["entered_guatemala_via_el_florido_border"],
            "observed": 6500.0,
            "tolerance": "±10%",
            "band": [5850.0, 7150.0],
        },
        "processed_jan18": {
            "outcome": ["returned_after_entering", "remitted"],
            "observed": 3000.0,
            "tolerance": "±5%",
            "band": [2850.0, 3150.0],
            "by": "2021-01-18T23:59:00",
        },
        "reached_mexican_border": {
            "outcome": ["reached_mexican_border"],
            "observed": None,
            "tolerance": "0-200",
            "band": [0.0, 200.0],
        },
    }
    predictive = pd.DataFrame(
        {f"target.{t}": rng.normal(v["observed"] or 100, 300, 40) for t, v in targets.items()}
    )
    return figures.calibration_figures(
        {"parameters": parameters, "targets": targets},
        posterior,
        predictive,
        {"el_florido_border": "El Florido"},
    )


def _validation() -> Validation:
    """A validation of two checks made by hand."""

    def check(tid: str, outcome: tuple[str, ...], reported: float, model: float) -> TargetCheck:
        return TargetCheck(
            id=tid,
            outcome=outcome,
            reported=reported,
            band=(0.9 * reported, 1.1 * reported),
            tolerance="±10%",
            by=None,
            read_at="end of run",
            values=(model,),
            median=model,
            p05=model,
            p95=model,
            discrepancy=abs(model - reported) / (0.1 * reported),
            inside=model == reported,
            within_tolerance=abs(model - reported) <= 0.1 * reported,
        )

    return Validation(
        scenario="january-2021",
        scenario_file="scenarios/january-2021.yaml",
        overrides=(),
        target_set="official",
        targets="official",
        seed=0,
        seeds=(0,),
        checks=(
            check(
                "entered_via_el_florido", ("entered_guatemala_via_el_florido_border",), 6500, 7000
            ),
            check("processed", ("returned_voluntarily", "remitted"), 4957, 4957),
        ),
        version="0",
        versions={},
        created="2021-01-01T00:00:00",
    )


@pytest.fixture(scope="module")
def every_figure(small_january: Run, grid_sweep_dir: Path) -> dict[str, Figure]:
    """Every non-map figure `caravan plot` draws for a run, a sweep and a calibration."""
    scenario, runs = small_january
    drawn = figures.run_figures(scenario, runs)
    out = {f"run {name}": drawn[name] for name in NON_MAP_RUN_FIGURES}
    out |= {
        f"sweep {n}": f for n, f in figures.sweep_figures(sim.load_sweep(grid_sweep_dir)).items()
    }
    out |= {f"calibration {n}": f for n, f in _calibration_figures().items()}
    out["validation validation.png"] = plots.validation_intervals(_validation())
    for fig in out.values():
        FigureCanvasAgg(fig).draw()  # laid out as when saved
    return out


def _texts(fig: Figure) -> Iterator[Text]:
    for text in fig.findobj(Text):
        if text.get_text().strip() and text.get_visible():
            yield text


def test_no_label_is_snake_case(every_figure: dict[str, Figure]) -> None:
    for name, fig in every_figure.items():
        raw = [t.get_text() for t in _texts(fig) if "_" in t.get_text()]
        assert not raw, name


def _labels(fig: Figure) -> list[tuple[str, Bbox]]:
    """The figure's titles, axis labels and legends, each with its extent in pixels."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    found: list[tuple[str, Any]] = []
    for text in fig.texts:  # the figure's title and shared axis labels
        if text.get_text() and text.get_visible():
            found.append((f"figure text {text.get_text()!r}", text))
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        if ax.title.get_text():
            found.append((f"title {ax.title.get_text()!r}", ax.title))
        for label in (ax.xaxis.label, ax.yaxis.label):
            if label.get_text() and label.get_visible():
                found.append((f"axis label {label.get_text()!r}", label))
        legend = ax.get_legend()
        if legend is not None:
            found.append(("a legend of an axes", legend))
    found += [(f"figure legend {k}", legend) for k, legend in enumerate(fig.legends)]
    return [(what, artist.get_window_extent(renderer)) for what, artist in found]


def test_titles_labels_and_legends_lie_inside_the_figure(every_figure: dict[str, Figure]) -> None:
    for name, fig in every_figure.items():
        page = fig.bbox
        for what, box in _labels(fig):
            inside = (
                box.x0 >= page.x0 - SLACK_PX
                and box.y0 >= page.y0 - SLACK_PX
                and box.x1 <= page.x1 + SLACK_PX
                and box.y1 <= page.y1 + SLACK_PX
            )
            assert inside, f"{name}: {what} at {box.extents} is cut off by {page.extents}"
        # and everything drawn, tick labels included
        tight = fig.get_tightbbox(fig.canvas.get_renderer())  # type: ignore[attr-defined]
        width, height = fig.get_size_inches()
        assert tight.x0 >= -0.01 and tight.y0 >= -0.01, name
        assert tight.x1 <= width + 0.01 and tight.y1 <= height + 0.01, name


def test_no_title_label_or_legend_lies_over_another(every_figure: dict[str, Figure]) -> None:
    for name, fig in every_figure.items():
        for (a, box_a), (b, box_b) in itertools.combinations(_labels(fig), 2):
            overlap = Bbox.intersection(box_a, box_b)
            clear = overlap is None or overlap.width <= SLACK_PX or overlap.height <= SLACK_PX
            assert clear, f"{name}: {a} lies over {b}"


def test_sweep_panels_do_not_repeat_their_title(every_figure: dict[str, Figure]) -> None:
    for name, fig in every_figure.items():
        if not name.startswith("sweep line-"):
            continue
        titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
        assert len(set(titles)) == len(titles), name
        assert not [t for t in titles if "band" in t], name  # said once, in the figure title


def test_outcomes_has_no_empty_rows(small_january: Run) -> None:
    scenario, runs = small_january
    fig = figures.run_figures(scenario, runs)["outcomes.png"]
    for ax in fig.axes:
        low, high = ax.get_ylim()
        assert (low - high) == len(ax.get_yticks())  # a row per target, no more


def test_every_figure_uses_the_palette_and_the_style(every_figure: dict[str, Figure]) -> None:
    fig = every_figure["run timeseries.png"]
    ax = fig.axes[0]
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
    colours = {line.get_color() for ax in fig.axes for line in ax.lines}
    assert colours <= {*style.PALETTE, "black"}
    assert fig.axes[0].title.get_fontsize() == style.RC["axes.titlesize"]


# --------------------------------------------------------------------------------------------
# Curves that coincide
# --------------------------------------------------------------------------------------------


def test_equal_curves_get_different_dashes_and_say_so(small_january: Run) -> None:
    _, runs = small_january
    blue, orange = style.COLORS["blue"], style.COLORS["orange"]
    same = (
        plots.Curve("Tested", ("cum_tested",), blue),
        plots.Curve("Tested again", ("cum_tested",), orange),  # the same column: equal
        plots.Curve("Departed", ("cum_departed",), blue),
    )
    ax = plots.timeseries(runs, same).axes[0]
    first, second, third = ax.lines[:3]
    assert first.get_label() == "Tested"
    assert second.get_label() == "Tested again (equal to tested)"
    assert third.get_label() == "Departed"
    assert first.get_linestyle() != second.get_linestyle()
    assert second.get_zorder() > first.get_zorder()  # the dashed one on top, the other showing
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Tested again (equal to tested)" in legend


def test_tested_positive_and_quarantined_are_told_apart(small_january: Run) -> None:
    _, runs = small_january
    ax = plots.timeseries(runs, plots.HEALTH).axes[0]
    positive, quarantined = ax.lines[1], ax.lines[2]
    assert positive.get_label() == "Tested positive"
    assert quarantined.get_label().startswith("Quarantined")
    assert positive.get_linestyle() != quarantined.get_linestyle()
    positives = np.asarray(positive.get_ydata())
    if np.array_equal(positives, quarantined.get_ydata()) and positives.any():
        assert quarantined.get_label() == "Quarantined (equal to tested positive)"


# --------------------------------------------------------------------------------------------
# --format and --dpi
# --------------------------------------------------------------------------------------------


def _pixels(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _about(size: tuple[float, float], dpi: int) -> tuple[Any, Any]:
    """A figure's size in inches at `dpi`, as pixels (to the pixel: matplotlib rounds down)."""
    return (pytest.approx(size[0] * dpi, abs=1), pytest.approx(size[1] * dpi, abs=1))


def test_plot_writes_each_format(small_run_dir: Path, tmp_path: Path) -> None:
    names = ["timeseries", "map", "maps-by-day", "outcomes"]
    svg_dir, pdf_dir, png_dir = tmp_path / "svg", tmp_path / "pdf", tmp_path / "png"
    assert main(["plot", str(small_run_dir), "--out", str(svg_dir), "--format", "svg"]) == 0
    assert sorted(p.name for p in svg_dir.iterdir()) == sorted(f"{n}.svg" for n in names)
    svg = (svg_dir / "timeseries.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<svg" in svg
    creator = svg.split("<dc:creator>")[1].split("</dc:creator>")[0]
    assert f"caravan-sim {sim.package_version()}" in creator
    assert main(["plot", str(small_run_dir), "--out", str(pdf_dir), "--format", "pdf"]) == 0
    assert sorted(p.name for p in pdf_dir.iterdir()) == sorted(f"{n}.pdf" for n in names)
    pdf = (pdf_dir / "outcomes.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and f"caravan-sim {sim.package_version()}".encode() in pdf
    args = ["plot", str(small_run_dir), "--out", str(png_dir), "--dpi", "50"]
    assert main(args) == 0
    width_in, height_in = figures.run_figures(*_saved(small_run_dir))[
        "timeseries.png"
    ].get_size_inches()
    assert _pixels(png_dir / "timeseries.png") == _about((width_in, height_in), 50)
    with Image.open(png_dir / "timeseries.png") as image:
        assert image.info["Software"] == f"caravan-sim {sim.package_version()}"


def _saved(run_dir: Path) -> tuple[Scenario, list[Results]]:
    saved = sim.load_run(run_dir)
    return saved.scenario, saved.replicates


def test_run_draws_its_figures_in_the_format_asked(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [SCENARIO, *SMALL, "--out", str(out), "--quiet", "--figures", "now"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        assert main(["run", *args, "--format", "pdf", "--dpi", "40"]) == 0
    drawn = sorted(p.name for p in out.iterdir() if p.suffix in {".png", ".pdf", ".svg"})
    assert drawn == ["map.pdf", "maps-by-day.pdf", "outcomes.pdf", "timeseries.pdf"]
    assert (out / "map.pdf").read_bytes().startswith(b"%PDF-")


def test_the_background_drawing_keeps_the_format_and_dpi(
    small_run_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(small_run_dir, run_dir)
    draw_in_background(run_dir, "png", 30).wait(timeout=300)
    assert not (run_dir / FIGURES_LOG).exists()  # removed once every figure is written
    width_in, height_in = figures.run_figures(*_saved(run_dir))["outcomes.png"].get_size_inches()
    assert _pixels(run_dir / "outcomes.png") == _about((width_in, height_in), 30)
    draw_in_background(run_dir, "svg", 30).wait(timeout=300)
    assert (run_dir / "maps-by-day.svg").read_text(encoding="utf-8").startswith("<?xml")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--format", "jpg"],
            "argument --format: 'jpg' is not a figure format; expected one of png, pdf, svg",
        ),
        (
            ["--dpi", "0"],
            "argument --dpi: '0': expected a whole number of dots per inch from 10 to 2400",
        ),
        (
            ["--dpi", "3000"],
            "argument --dpi: '3000': expected a whole number of dots per inch from 10 to 2400",
        ),
        (
            ["--dpi", "high"],
            "argument --dpi: 'high': expected a whole number of dots per inch from 10 to 2400",
        ),
    ],
)
@pytest.mark.parametrize("command", ["plot", "run"])
def test_bad_format_or_dpi_exits_2(
    command: str,
    args: list[str],
    message: str,
    small_run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = str(small_run_dir) if command == "plot" else SCENARIO
    with pytest.raises(SystemExit) as stopped:
        main([command, target, "--out", str(tmp_path / "out"), *args])
    assert stopped.value.code == 2
    assert (
        capsys.readouterr().err.strip().splitlines()[-1] == f"caravan {command}: error: {message}"
    )
    assert not (tmp_path / "out").exists()


def test_the_formats_cli_and_figures_accept_agree() -> None:
    from sim import cli

    assert cli.FIGURE_FORMATS == figures.FORMATS
    assert cli.DEFAULT_DPI == figures.DPI
    assert (cli.DPI_RANGE[0], cli.DPI_RANGE[1]) == (figures.MIN_DPI, figures.MAX_DPI)
