"""The import progress bars: bytes and MB/s while reading, message counts and msg/s for the steps."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn

from dossiermail.commands.importing import _AmountColumn, _RateColumn


def rendered(unit: str, total: int, done: int) -> str:
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), _AmountColumn(), _RateColumn(), console=console
    )
    task = progress.add_task("Tâche", total=total, unit=unit)
    progress.advance(task, done)
    progress.advance(task, 0)
    columns = [column for column in progress.columns if isinstance(column, ProgressColumn)]
    return " ".join(str(column.render(progress.tasks[0])) for column in columns[2:])


def test_the_reading_bar_counts_bytes() -> None:
    text = rendered("bytes", 500_000_000, 12_300_000)
    assert "/500.0 MB" in text
    assert "msg" not in text


def test_the_step_bars_count_messages_not_bytes() -> None:
    text = rendered("messages", 2920, 200)
    assert "200/2920 msg" in text
    assert "bytes" not in text
    assert "MB" not in text
