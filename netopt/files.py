"""Writing results safely: whole folders appear at once, JSON holds plain values."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_folder_atomically(folder: str | Path, fill: Callable[[Path], None], *,
                            staging_prefix: str | None = None) -> Path:
    """Let ``fill`` write a staging folder beside ``folder``, then rename it into place.

    A failure or an interrupt leaves no partial folder under the final name; an existing
    ``folder`` is replaced only once the new one is complete (the caller decides whether
    replacing is allowed). ``staging_prefix`` names the staging folder (default
    ``.<name>.``) so that leftovers of a killed run can be recognised.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    prefix = staging_prefix if staging_prefix is not None else f".{folder.name}."
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a result folder is for sharing
    try:
        fill(staging)
        if folder.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.replace(folder, trash / folder.name)
            os.replace(staging, folder)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars, paths and non-finite floats made JSON-safe."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
