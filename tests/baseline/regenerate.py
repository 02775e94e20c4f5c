"""Rewrite the golden baseline (`tests/baseline/*.json`, `*.csv`) from the current code.

    python tests/baseline/regenerate.py --reason "why the results change"

Run it only when a change of results is intended; commit the rewritten files with the reason
in the commit message. `--check` compares instead of writing (what `tests/test_baseline.py`
does), and `--case NAME` limits either to some cases.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _baseline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reason", help="why the results change (required to write)")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    args = parser.parse_args()
    if not args.check and not args.reason:
        parser.error("give --reason (it belongs in the commit message too), or --check")
    cases = _baseline.cases()
    names = args.case or list(cases)
    unknown = sorted(set(names) - set(cases))
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {', '.join(cases)}")
    differ = []
    for name in names:
        data, csv = _baseline.record(name, cases[name])
        if args.check:
            if (data, csv) != _baseline.stored(name):
                differ.append(name)
            print(f"{name}: {'differs' if name in differ else 'same'}")
            continue
        path = _baseline.BASELINE / f"{name}.json"
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        if csv is not None:
            path.with_suffix(".csv").write_text(csv, encoding="utf-8")
        print(f"{name}: written")
    if not args.check:
        print(f"reason: {args.reason}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
