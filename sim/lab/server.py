"""Serving `caravan lab`: check the optional packages, choose a port, start solara's server.

The server runs `sim.lab.app` in a process of its own (`python -m solara run`), in production
mode and with solara's telemetry off, so the page loads nothing from outside this machine: its
JavaScript and CSS come from the `solara-assets` package."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sim import packaged
from sim.errors import CaravanError

INSTALL_HINT = "pip install 'caravan-sim[lab]'"
LAB_CARAVAN_ENV = "CARAVAN_LAB_CARAVAN"  # read by sim.lab.app
# The modules the lab imports, by the distribution that provides each.
REQUIRED_MODULES = {
    "solara": "solara",
    "solara_assets": "solara-assets",
    "ipyvue": "ipyvue",
    "ipyvuetify": "ipyvuetify",
    "altair": "altair",  # Mesa's visualization imports it
}


def missing_packages() -> list[str]:
    """The distributions of `REQUIRED_MODULES` that are not installed."""
    return [dist for module, dist in REQUIRED_MODULES.items() if not _installed(module)]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_installed() -> None:
    """A CaravanError (exit 2) naming what is missing and how to install it."""
    missing = missing_packages()
    if missing:
        raise CaravanError(
            f"caravan lab needs packages that are not installed ({', '.join(missing)}); "
            f"install them with: {INSTALL_HINT}"
        )


def caravan_name(path: Path) -> str:
    """The shipped name of a scenario file (as the lab's caravan list shows it), else the path."""
    for shipped in packaged.shipped_files():
        if shipped.kind in packaged.SCENARIO_KINDS and shipped.path.resolve() == path.resolve():
            return shipped.name
    return str(path)


def free_port(host: str) -> int:
    """A port nobody listens on at `host` now (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(host: str, port: int) -> list[str]:
    """The command that serves the app."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.lab.app",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]


def serve(caravan: str, host: str, port: int | None, say: Callable[[str], None]) -> int:
    """Serve the lab for `caravan` until interrupted; `say` prints the address first. Returns
    the server's exit status."""
    port = free_port(host) if port is None else port
    say(f"caravan lab: open http://{host}:{port}/ in a browser (Ctrl-C stops it)")
    env = {
        **os.environ,
        LAB_CARAVAN_ENV: caravan,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",  # no calls home
        "MPLBACKEND": "Agg",  # figures are drawn to images, never to a window
    }
    try:
        return subprocess.run(server_command(host, port), env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0
