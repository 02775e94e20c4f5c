"""The kernel with every rule added since 0.1 switched on, against the 0.1 rules, alternated.

    python benchmarks/bench_rules.py --migrants 1000000 --pairs 6

Both sides are the same checkout, in one process on one thread (numba set to one thread,
`threads=False`), over the same 438 hourly steps (13 to 31 January 2021):

- **0.1 rules**: `scenarios/january-2021.yaml` (border forces, the Vado Hondo blockade,
  checkpoints, COVID-19 testing), run to the end of January;
- **every new rule**: the caravan library's January 2021 (`scenarios/caravans/january-2021.yaml`
  with the joint fit's behaviour: giving up on the road under a state of prevention and at
  checkpoints, return transport with travel time, people making their own way back, border
  forces that thin out when overrun) plus what that caravan does not use: word of the blockade
  ahead, a road closure with re-routing at closures, and a second origin (people joining at
  Omoa).

Runs alternate A B, B A, A B, ...: this machine's speed drifts over minutes, so each run is
compared with the other side's run next to it. Reported per side: seconds per run, throughput
in agent-steps per second (migrants x steps / seconds), and in live agent-steps per second
(the steps migrants spend not yet done, the work the kernel cannot skip: the two scenarios
keep people on the road for different lengths of time); and the ratio of throughputs per
adjacent pair with its median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import REPO, machine_info

OLD_RULES = REPO / "scenarios" / "january-2021.yaml"
CARAVAN = REPO / "scenarios" / "caravans" / "january-2021.yaml"
BEHAVIOUR = REPO / "scenarios" / "caravans" / "fits" / "joint.yaml"
CLOSURE = {
    "kind": "road_closure",
    "roads": [["zacapa", "chiquimula"]],
    "active": {
        "start": datetime.fromisoformat("2021-01-17T06:00:00-06:00"),
        "end": datetime.fromisoformat("2021-01-19T06:00:00-06:00"),
    },
}


def scenarios(migrants: int) -> dict[str, Any]:
    """The two scenarios, at `migrants` people, over the same hours."""
    import sim  # noqa: PLC0415

    every = sim.load(CARAVAN, [f"population.size={migrants}"], behaviour=BEHAVIOUR)
    every = sim.derive(
        every,
        {
            "route_choice.reroute_at_closures": True,
            "authorities.zacapa_closure": CLOSURE,
            "authorities.vado_hondo_blockade.word_ahead": {
                "give_up_per_h": 0.005,
                "within_km": 60.0,
            },
            "authorities.highway_checkpoints.give_up_per_h": 0.005,
            "authorities.el_florido_force.force_share_after_breakthrough": 0.5,
            "population.waves.main.share": 0.9,
            "population.waves.joiners": {
                "origin": "omoa",
                "at": datetime.fromisoformat("2021-01-15T06:00:00-06:00"),
                "share": 0.1,
                "spread_h": 6,
            },
        },
    )
    old = sim.load(
        OLD_RULES,
        [
            f"population.size={migrants}",
            f"time.start={every.time.start.isoformat()}",
            f"time.duration_h={every.time.duration_h}",
        ],
    )
    return {"0.1 rules": old, "every new rule": every}


def live_agent_steps(results: Any) -> int:
    """Migrant-steps spent not yet done (waiting to leave, travelling, held, in quarantine or on
    the way back): the sum over steps of every stock but the sub-stocks "in Guatemala"."""
    from sim.results_schema import STOCKS  # noqa: PLC0415

    series = results.series()
    columns = [s.column for s in STOCKS if not s.name.endswith("_in_guatemala")]
    return int(sum(series[c].sum() for c in columns if c in series))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrants", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()

    import numba  # noqa: PLC0415

    import sim  # noqa: PLC0415

    numba.set_num_threads(1)
    pair = scenarios(args.migrants)
    for scenario in scenarios(1000).values():  # compile both kernels (or load the cache)
        sim.run(scenario, seed=args.seed, threads=False)
    # The new rules are on: each leaves its mark on the outcomes.
    marks = ("gave_up_on_road", "cum_boarded_return_transport", "departed_from_omoa")
    shown_run = sim.run(pair["every new rule"], seed=args.seed, threads=False)
    shown = dict(shown_run.outcomes)
    shown["cum_boarded_return_transport"] = int(
        shown_run.series()["cum_boarded_return_transport"][-1]
    )
    assert all(shown[key] > 0 for key in marks), {key: shown.get(key) for key in marks}
    print("every new rule:", ", ".join(f"{key} {shown[key]:,}" for key in marks))
    names = list(pair)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    steps = {name: int(s.time.duration_h / s.time.step_h) for name, s in pair.items()}
    live: dict[str, int] = {}
    for k in range(args.pairs):
        order = names if k % 2 == 0 else names[::-1]
        for name in order:
            t0 = time.perf_counter()
            results = sim.run(pair[name], seed=args.seed, threads=False)
            seconds[name].append(time.perf_counter() - t0)
            live[name] = live_agent_steps(results)
    throughput = {name: [args.migrants * steps[name] / s for s in seconds[name]] for name in names}
    ratios = [
        new / old
        for new, old in zip(throughput["every new rule"], throughput["0.1 rules"], strict=True)
    ]
    print(
        f"{args.migrants:,} migrants, {steps[names[0]]} hourly steps, one thread, seed {args.seed}"
    )
    print("| rules | median s per run | median M agent-steps/s | live agent-steps | M live/s |")
    print("|---|---|---|---|---|")
    for name in names:
        median_s = statistics.median(seconds[name])
        median_tp = statistics.median(throughput[name]) / 1e6
        print(
            f"| {name} | {median_s:.3f} | {median_tp:.1f} | {live[name]:,} | "
            f"{live[name] / median_s / 1e6:.1f} |"
        )
    print(
        "every new rule / 0.1 rules, throughput per pair: "
        + ", ".join(f"{r:.3f}" for r in ratios)
        + f"; median {statistics.median(ratios):.3f}"
    )
    if args.json:
        record = {
            "machine": machine_info(),
            "migrants": args.migrants,
            "steps": steps,
            "seconds": seconds,
            "live_agent_steps": live,
            "ratios": ratios,
        }
        args.json.write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
