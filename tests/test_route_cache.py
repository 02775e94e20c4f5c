"""The route search's answers kept on disk (`sim.scenario.routes.ROUTE_CACHE`): a search read
back is the search made, a different network is searched afresh, and a cache that cannot be
read or written costs time, never a result. Each case runs in a fresh interpreter with its own
XDG_CACHE_HOME, so the in-memory cache of the search is empty at its start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JANUARY = REPO / "scenarios" / "january-2021.yaml"

_ROUTES = """
import json, sys
from sim.scenario import load
from sim.scenario.routes import route_set
routes, ranges = route_set(load(sys.argv[1], sys.argv[2:]))
print(json.dumps({
    "routes": [[list(r.places), r.length_km, r.base_weight] for r in routes],
    "ranges": ranges,
    "networkx": "networkx" in sys.modules,
}))
"""


def _routes(cache: Path, *overrides: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _ROUTES, str(JANUARY), *overrides],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "caravan-sim" / "routes-v1").glob("*.json"))


def test_a_search_read_back_is_the_search_made_and_needs_no_networkx(tmp_path: Path) -> None:
    searched = _routes(tmp_path)
    assert searched["networkx"] is True
    assert len(_entries(tmp_path)) == 1
    read_back = _routes(tmp_path)
    assert read_back["networkx"] is False
    assert read_back["routes"] == searched["routes"]
    assert read_back["ranges"] == searched["ranges"]
    assert len(searched["routes"]) > 1  # type: ignore[arg-type]


def test_other_route_settings_are_searched_afresh(tmp_path: Path) -> None:
    base = _routes(tmp_path)
    # Three routes at most: the search looks at fewer paths, so the base network's answer,
    # read back, would be wrong here.
    fewer = _routes(tmp_path, "route_choice.max_routes=3")
    assert fewer["networkx"] is True
    assert len(_entries(tmp_path)) == 2
    assert len(fewer["routes"]) < len(base["routes"])  # type: ignore[arg-type]
    assert fewer == _routes(tmp_path / "cold", "route_choice.max_routes=3")


def test_an_unreadable_entry_is_searched_again_and_rewritten(tmp_path: Path) -> None:
    searched = _routes(tmp_path)
    (entry,) = _entries(tmp_path)
    entry.write_text('[[1.0, ["torn')
    again = _routes(tmp_path)
    assert again["networkx"] is True
    assert again["routes"] == searched["routes"]
    assert json.loads(entry.read_text())  # whole again


def test_a_cache_that_cannot_be_written_changes_no_result(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")  # XDG_CACHE_HOME is a file: nothing can be made under it
    assert _routes(blocked)["routes"] == _routes(tmp_path / "fine")["routes"]


def test_an_entry_that_cannot_be_an_answer_is_searched_again(tmp_path: Path) -> None:
    """A kept file edited by hand into well-formed nonsense (a path through a place the network
    lacks) is not taken for an answer."""
    searched = _routes(tmp_path)
    (entry,) = _entries(tmp_path)
    entry.write_text(json.dumps([[1.0, ["san_pedro_sula", "atlantis", "tecun_uman"]]]))
    again = _routes(tmp_path)
    assert again["networkx"] is True
    assert again["routes"] == searched["routes"]
