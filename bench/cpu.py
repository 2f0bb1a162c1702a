"""CPU seconds of processes on this machine, read from ``/proc``, for benches that share the cores.

A bench whose work spans several programs (worker processes, the local PostgreSQL server, Redis)
reads here how much CPU each used over the measured span: the sum, over the live processes, of
their own CPU time plus that of the children they have reaped (a PostgreSQL backend that exits is
reaped by the postmaster, whose ``cutime`` then holds its CPU). Linux only; elsewhere every reading
is 0 and the benches print no CPU split.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcessCpu:
    """One process: its id, parent, command name and CPU seconds (its own and its reaped children's)."""

    pid: int
    parent: int
    name: str
    seconds: float


def read_process(pid: int) -> ProcessCpu | None:
    """The process's line of ``/proc/PID/stat``; None when it is gone or unreadable."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is the state (field 3 of proc(5)); utime, stime, cutime, cstime are fields 14-17
    ticks = sum(int(value) for value in fields[11:15])
    return ProcessCpu(pid, int(fields[1]), name, ticks / TICKS)


def processes() -> list[ProcessCpu]:
    """Every process this user can read."""
    found = (read_process(int(entry.name)) for entry in PROC.iterdir() if entry.name.isdigit())
    return [process for process in found if process is not None]


def named(prefixes: Iterable[str], table: list[ProcessCpu] | None = None) -> float:
    """CPU seconds so far of the processes whose command name starts with one of ``prefixes``."""
    wanted = tuple(prefixes)
    return sum(p.seconds for p in (table if table is not None else processes()) if p.name.startswith(wanted))


def tree(root: int, table: list[ProcessCpu] | None = None) -> float:
    """CPU seconds so far of ``root`` and all its live descendants."""
    everyone = table if table is not None else processes()
    children: dict[int, list[ProcessCpu]] = {}
    for process in everyone:
        children.setdefault(process.parent, []).append(process)
    total, stack = 0.0, [p for p in everyone if p.pid == root]
    while stack:
        process = stack.pop()
        total += process.seconds
        stack.extend(children.get(process.pid, []))
    return total


@dataclass(frozen=True)
class CpuSplit:
    """CPU seconds used over a span: by a process tree (the workers), PostgreSQL and Redis."""

    workers: float
    database: float
    broker: float

    def minus(self, earlier: CpuSplit) -> CpuSplit:
        """What was used between ``earlier`` and this reading."""
        return CpuSplit(
            self.workers - earlier.workers, self.database - earlier.database, self.broker - earlier.broker
        )

    @property
    def total(self) -> float:
        """All three together."""
        return self.workers + self.database + self.broker


def split(worker_root: int) -> CpuSplit:
    """One reading: the tree under ``worker_root``, the local PostgreSQL server and Redis."""
    table = processes()
    return CpuSplit(tree(worker_root, table), named(("postgres",), table), named(("redis-server",), table))
