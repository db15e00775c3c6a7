"""Where the embedded cases live: ``data/`` at the top of the repository."""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """The folder holding the embedded cases (``$NETOPT_DATA`` overrides it)."""
    override = os.environ.get("NETOPT_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "data"


def data_path(name: str) -> Path:
    """Folder of one embedded case, e.g. ``data_path("china")`` or ``data_path("tiny/basic")``."""
    path = data_root() / name
    if not path.exists():
        raise FileNotFoundError(f"no embedded case '{name}' under {data_root()}")
    return path
