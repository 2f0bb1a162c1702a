"""Parsing on other processes: batches of stored messages in, parsed messages or refusals out.

The importer commits a batch's raw bytes, hands the batch to a ``ParsePool`` and goes on reading and
storing the next one while worker processes parse; it stores each parsed chunk when it comes back.
The pool sends a batch in chunks of at most ``CHUNK_BYTES`` (a larger message alone) and keeps at
most ``IN_FLIGHT_BYTES`` of them in flight (and at least one chunk a worker), so the raw bytes held
by the importer and by each worker stay bounded whatever the archive's size. Workers are started
with ``spawn``: they import only the parser (no store, no threads inherited from the importer), and
each is a process of its own in memory accounting.

A worker that dies (killed, out of memory) breaks the pool: ``ParsePool`` then raises
``ParsePoolError`` and the caller parses in its own process; the messages of the chunks lost are
still ``accepted`` in the store and get parsed with the others left in that state.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType

from dossiermail.domain import ParsedMessage
from dossiermail.parse.errors import ParseError
from dossiermail.parse.message import parse_message

CHUNK_BYTES = 1024 * 1024
CHUNK_MESSAGES = 100
IN_FLIGHT_BYTES = 4 * 1024 * 1024
MAX_DEFAULT_JOBS = 2
"""The default ``jobs`` stops here. The importing process keeps about one parser busy (SpamAssassin's
import phase: 5.0 s with one worker, 5.0 s with two), and each worker may hold a large message's
parse (up to 125 MB for an 8 MB one on the 500 MB archive bench, whose target is 300 MB in all)."""
_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number (``malloc.h``)."""
MMAP_THRESHOLD = 256 * 1024


@dataclass(frozen=True)
class ParseJob:
    """One stored message to parse: its key, its exact bytes, its SMTP recipients."""

    message_key: str
    raw: bytes
    envelope_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParseRefusal:
    """A message the parser refused, with the one-line reason it is quarantined under."""

    message_key: str
    reason: str


ParseOutcome = ParsedMessage | ParseRefusal


class ParsePoolError(Exception):
    """A worker process died; the batches in flight are lost (their messages stay ``accepted``)."""


def parse_job(job: ParseJob) -> ParseOutcome:
    """The parse of one message, a refusal instead of an exception."""
    try:
        return parse_message(job.raw, job.message_key, envelope_to=job.envelope_to)
    except ParseError as exc:
        return ParseRefusal(job.message_key, exc.reason)


def parse_batch(jobs: Sequence[ParseJob]) -> list[ParseOutcome]:
    """Every message of a batch, in order (what a worker process runs)."""
    return [parse_job(job) for job in jobs]


def return_large_blocks() -> bool:
    """Have malloc hand blocks of ``MMAP_THRESHOLD`` and more back to the system once freed.

    glibc raises its mmap threshold to the largest block freed so far (up to 32 MB): after one
    multi-MB message, the next ones' buffers come from the heap and stay in the process's memory
    once freed. On the 500 MB archive bench that was about 70 MB more in the importing process and
    up to 100 MB in a parse worker (docs/performance.md). Process-wide: called by ``dossiermail
    import`` and in each parse worker. False where there is no ``mallopt`` (not glibc).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def _start_worker() -> None:
    return_large_blocks()


def default_jobs() -> int:
    """Processes an import uses by default: one per CPU this process may run on, at most 2."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_JOBS))


def chunks(jobs: Sequence[ParseJob]) -> Iterator[list[ParseJob]]:
    """``jobs`` in order, in chunks of at most ``CHUNK_MESSAGES`` and ``CHUNK_BYTES`` (a larger
    message makes a chunk of its own)."""
    chunk: list[ParseJob] = []
    size = 0
    for job in jobs:
        if chunk and (size + len(job.raw) > CHUNK_BYTES or len(chunk) >= CHUNK_MESSAGES):
            yield chunk
            chunk, size = [], 0
        chunk.append(job)
        size += len(job.raw)
    if chunk:
        yield chunk


class ParsePool:
    """``workers`` parsing processes fed chunk by chunk, a bounded amount of raw bytes in flight."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a parse pool needs at least one worker, not {workers}")
        context = multiprocessing.get_context("spawn")
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_start_worker
        )
        self._in_flight: deque[tuple[Future[list[ParseOutcome]], int]] = deque()
        self._bytes = 0
        self._workers = workers

    def submit(self, jobs: Sequence[ParseJob]) -> Iterator[list[ParseOutcome]]:
        """Queue a batch, chunk by chunk; yields chunks already parsed, waiting for the oldest while
        more than ``IN_FLIGHT_BYTES`` (and more than a chunk a worker) are in flight."""
        for chunk in chunks(jobs):
            while self._in_flight and (self._full() or self._in_flight[0][0].done()):
                yield self._oldest()
            size = sum(len(job.raw) for job in chunk)
            try:
                self._in_flight.append((self._executor.submit(parse_batch, chunk), size))
            except BrokenProcessPool as exc:
                raise ParsePoolError(str(exc)) from exc
            self._bytes += size
        while self._in_flight and self._in_flight[0][0].done():
            yield self._oldest()

    def _full(self) -> bool:
        return len(self._in_flight) > self._workers and self._bytes >= IN_FLIGHT_BYTES

    def drain(self) -> Iterator[list[ParseOutcome]]:
        """Every batch still in flight, oldest first, waiting for each."""
        while self._in_flight:
            yield self._oldest()

    def _oldest(self) -> list[ParseOutcome]:
        future, size = self._in_flight.popleft()
        self._bytes -= size
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self._in_flight.clear()
            self._bytes = 0
            raise ParsePoolError(str(exc) or "a parse worker died") from exc

    def close(self) -> None:
        """Stop the workers (after the batches in flight, unless the pool is broken)."""
        for future, _ in self._in_flight:
            future.cancel()
        self._in_flight.clear()
        self._bytes = 0
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
