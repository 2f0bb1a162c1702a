"""Shared pieces of the commands: consoles, the one-line user error, opening rules and store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.table import Table

from dossiermail.rules import RulesError
from dossiermail.rules.model import Rules
from dossiermail.store import Store, StoreError, open_store

err = Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line
out = Console(highlight=False, soft_wrap=True)

DEFAULT_RULES = Path("rules")

Row = TypeVar("Row")


def print_listing(
    rows: Sequence[Row],
    *,
    as_json: bool,
    record: Callable[[Row], dict[str, object]],
    title: str,
    columns: Sequence[str],
    cells: Callable[[Row], Iterable[str]],
) -> None:
    """One JSON object per row on stdout (``--json``), else a table titled ``title``."""
    if as_json:
        for row in rows:
            print(json.dumps(record(row), ensure_ascii=False))  # noqa: T201 - data to stdout
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*cells(row))
    out.print(table)


class CliError(Exception):
    """An expected mistake: printed as one line ``dossiermail: error: …``, exit status 1."""


def load_rules_or_fail(directory: Path | None) -> Rules:
    """The rules from ``directory`` (default ./rules; missing default = no rules, with a warning)."""
    from dossiermail.rules import empty_rules, load_rules

    if directory is None and not DEFAULT_RULES.is_dir():
        err.print("dossiermail: warning: no ./rules directory: no buildings or contacts known")
        return empty_rules()
    try:
        return load_rules(directory or DEFAULT_RULES)
    except RulesError as exc:
        raise CliError(_rules_problems(exc, directory or DEFAULT_RULES)) from None


def _rules_problems(exc: RulesError, directory: Path) -> str:
    """One problem: that line. Several: all printed, then a one-line summary."""
    if len(exc.problems) == 1:
        return str(exc.problems[0])
    for problem in exc.problems:
        err.print(str(problem), markup=False)
    return f"{len(exc.problems)} problems in the rules under {directory}/; nothing was done"


def open_store_or_fail(url: str | None) -> Store:
    """The store, migrated; a one-line error when the database cannot be opened."""
    try:
        return open_store(url)
    except StoreError as exc:
        raise CliError(str(exc)) from None
