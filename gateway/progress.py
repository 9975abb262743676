"""Progress of long CLI work, on stderr: a live bar on a terminal, plain lines otherwise.

Plain lines (CI logs, pipes, ``2> file``) say what starts and how it ended, so a log shows where
time went; a terminal gets rich's bar (rich comes with litestar) that disappears when done,
leaving the same one-line summary.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as _Bar


class Step:
    """Handle of one running step: ``advance`` it as items complete."""

    def __init__(self, label: str, bar: _Bar | None, task: TaskID | None) -> None:
        self.label, self.done = label, 0
        self._bar, self._task = bar, task

    def advance(self, count: int = 1, note: str | None = None) -> None:
        """``count`` more items done; ``note`` replaces the text after the label."""
        self.done += count
        if self._bar is not None and self._task is not None:
            text = f"{self.label}: {note}" if note else self.label
            self._bar.update(self._task, advance=count, description=text)


class Progress:
    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live

    def say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Step]:
        """Announce ``label`` (``total`` items, when known), then report how it ended."""
        started = time.perf_counter()
        if not self.live:
            self.say(f"{label} ...")
            step = Step(label, None, None)
            yield step
        else:
            with _Bar(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            ) as bar:
                step = Step(label, bar, bar.add_task(label, total=total))
                yield step
        count = f"{step.done}{f'/{total}' if total else ''}, " if step.done else ""
        self.say(f"{label}: done ({count}{time.perf_counter() - started:.1f} s)")
