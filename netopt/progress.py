"""Progress bars on the terminal (rich) for the callbacks the core reports through.

The core (:func:`netopt.game.coalition_values`, ...) calls a plain
``progress(done, total)``; this module turns that into a bar, so that the core does
not draw anything itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

#: ``progress(done, total)``: how many of ``total`` tasks are finished (cached ones too).
ProgressCallback = Callable[[int, int], None]


@contextlib.contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A rich bar ``label [####  ] done/total, N left, elapsed`` fed by the callback."""
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[left]} left"), TimeElapsedColumn()]
    with Progress(*columns, disable=not enabled, transient=False) as bar:
        task = bar.add_task(label, total=None, left="?")

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, left=total - done)

        yield report


def no_progress(done: int, total: int) -> None:
    """A progress callback that shows nothing."""
