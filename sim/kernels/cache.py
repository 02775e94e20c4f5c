"""Where numba keeps the kernel's compiled code: a directory named by a fingerprint of every
source file the kernel compiles.

numba's own cache is keyed by the source file of each compiled function alone. The kernel's
passes inline rules and constants from other modules (`sim.kernels.rules`, `sim.population`,
`sim.results_schema`, ...), so an edit there would leave the passes' cached code stale: the old
rule, silently, until the pass's own file changes. Naming the cache directory by all of them
makes any edit compile afresh.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numba

from sim.user_cache import user_cache_dir

SIM = Path(__file__).resolve().parent.parent
KERNEL_SOURCES = (
    *sorted((SIM / "kernels").glob("*.py")),
    SIM / "population.py",
    SIM / "results_schema.py",
    SIM / "rng.py",
    SIM / "user_cache.py",  # where the cache lives, not what it holds; cache.py imports it
)
"""The files whose code or constants the compiled kernel holds."""

PREFIX = "caravan-kernels-"
# numba sets its settings at run time, which type checkers cannot see.
_NUMBA_CONFIG: Any = numba.config


def fingerprint(sources: tuple[Path, ...] = KERNEL_SOURCES) -> str:
    """A digest of the sources' contents (and names), 16 hex digits."""
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _base_dir() -> Path:
    """NUMBA_CACHE_DIR if the user set one; else beside the kernel's sources if they can be
    written there (a clone); else the user's cache directory (an installed package)."""
    if _NUMBA_CONFIG.CACHE_DIR:
        return Path(_NUMBA_CONFIG.CACHE_DIR)
    in_tree = SIM / "kernels" / "__pycache__"
    try:
        in_tree.mkdir(exist_ok=True)
        if os.access(in_tree, os.W_OK):
            return in_tree
    except OSError:
        pass
    return user_cache_dir()


def cache_dir() -> Path:
    """The directory numba keeps the kernel's compiled code in: its base (`_base_dir`) and the
    fingerprint of the kernel's sources."""
    return _base_dir() / f"{PREFIX}{fingerprint()}"


def is_compiled(entry_point: str) -> bool:
    """Whether numba's cache holds code of the kernel's `entry_point` (`step_migrants_serial` or
    `step_migrants_parallel`) compiled by this Python, so that a run loads it instead of
    compiling. numba names its index files `<module>.<function>-<line>.py<version>.nbi`."""
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    return any(cache_dir().glob(f"*/step.{entry_point}-*.{version}.nbi"))


@contextmanager
def kernel_cache() -> Iterator[Path]:
    """While the kernel's modules are imported (numba picks each function's cache directory
    when it is decorated), point numba's cache at the fingerprinted directory; remove the
    directories of earlier fingerprints, whose code nothing will load again."""
    here = cache_dir()
    base = here.parent
    for old in base.glob(f"{PREFIX}*"):
        if old != here:
            shutil.rmtree(old, ignore_errors=True)
    before = _NUMBA_CONFIG.CACHE_DIR
    _NUMBA_CONFIG.CACHE_DIR = str(here)
    try:
        yield here
    finally:
        _NUMBA_CONFIG.CACHE_DIR = before
