"""Further ``netopt`` commands, one module each; every module defines ``register(app)``.

The modules are discovered here so that the core command line (:mod:`netopt.cli`) does
not grow with every export or batch feature.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    """Import every command module of this package and let it add its commands."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)
