"""Draw docs/img/caravan-returns.png: both caravans of the library under one fitted behaviour,
their returns and interceptions over time against the dated counts Guatemala published.

    python docs/caravan_returns.py [--behaviour FIT.yaml] [--replicates 50]

One panel per caravan: the median and 90% band over replicates of the people Guatemala
processed (returned after entering, or remitted), of those returned after entering, and of
those remitted, with each dated figure of the caravan's target set and its tolerance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt

import sim
from sim import plots

REPO = Path(__file__).resolve().parent.parent
CARAVANS = (
    ("scenarios/caravans/january-2021.yaml", "igm-january-2021"),
    ("scenarios/caravans/october-2020.yaml", "october-2020"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--behaviour", type=Path, default=REPO / "scenarios/caravans/fits/joint.yaml"
    )
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "docs/img/caravan-returns.png")
    args = parser.parse_args()
    plt.switch_backend("Agg")

    curves = {c.label: c for c in plots.CUMULATIVE}
    shown = [
        curves["processed by Guatemala (returned after entering, or remitted)"],
        curves["returned after entering Guatemala"],
        curves["remitted (intercepted)"],
    ]
    fig, axes = plt.subplots(1, 2, figsize=(15, 5), layout="constrained")
    for ax, (context, target_set) in zip(axes, CARAVANS, strict=True):
        scenario = sim.load(REPO / context, behaviour=args.behaviour)
        runs = [sim.run(scenario, seed=seed) for seed in range(args.replicates)]
        plots.timeseries(runs, shown, [sim.load_target_set(target_set)], ax=ax)
        ax.set_title(f"{scenario.name}: {args.behaviour.stem} behaviour, {len(runs)} replicates")
        ax.legend(loc="lower right", fontsize="small")
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
