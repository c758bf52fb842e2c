"""Show a benchmark's progress: a live bar on a terminal, one line per run otherwise.

with BenchProgress(Console(stderr=True)) as progress:
    report = run_bench(profile, options, progress)
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

__all__ = ["BenchProgress"]


class BenchProgress:
    """A :class:`~claude_arch.advisor.measure.bench.ProgressSink` writing to ``console``."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live = console.is_terminal
        self._bar = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None

    def begin(self, label: str, total: int) -> None:
        if not self._live:
            self.console.print(f"bench: {label}, {total} requests", highlight=False)
            return
        if self._task is not None:
            self._bar.update(self._task, visible=False)
        self._task = self._bar.add_task(label, total=total)

    def advance(self) -> None:
        if self._live and self._task is not None:
            self._bar.advance(self._task)

    def __enter__(self) -> Self:
        if self._live:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live:
            self._bar.stop()
