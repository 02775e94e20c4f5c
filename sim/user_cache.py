"""The user's cache directory for caravan-sim: `$XDG_CACHE_HOME/caravan-sim`, else
`~/.cache/caravan-sim`. Everything kept there can be computed again: a cache that cannot be
read or written costs time, never a result."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/caravan-sim` if XDG_CACHE_HOME is set, else `~/.cache/caravan-sim`
    (not created here)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "caravan-sim"
