"""``dossiermail worker``: N dramatiq worker processes of M threads, plus the sweeper, until SIGTERM.

The parent process starts the children (``spawn``: each opens its own store and broker connection),
sweeps the outbox every ``sweep_interval`` seconds, restarts a child that died, and on SIGTERM or
SIGINT asks every child to stop: a child stops taking messages, finishes the steps in flight
(up to ``grace`` seconds), closes its connections and exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from dossiermail.jobs.broker import JobQueue, make_broker, safe_url
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.jobs.settings import JobSettings
from dossiermail.jobs.steps import StepContext, run_step
from dossiermail.jobs.sweeper import sweep_forever
from dossiermail.store import open_store

log = logging.getLogger("dossiermail.jobs")
RESTART_PAUSE = 2.0  # seconds between checks that every worker process is alive
LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
IDLE_POLL_MS = 200
"""Longest a dramatiq consumer of an idle queue sleeps between polls (dramatiq's default is 1000):
a delayed publication is moved to its queue, then fetched, up to twice this after it is due, where
dramatiq's default added up to 2 s to each publication. An idle worker process (six consumers)
then uses about 1.4 % of a core polling Redis instead of 0.6 % (0.27 s and 0.12 s in 20 s)."""


@dataclass(frozen=True)
class WorkerOptions:
    """The command line of ``dossiermail worker``, resolved."""

    broker_url: str
    db_url: str
    rules_dir: Path | None
    site_dir: Path
    settings: JobSettings
    processes: int = 1
    threads: int = 4
    sweeper: bool = True
    grace: float = 60.0


def run_worker(options: WorkerOptions) -> None:
    """Run the worker processes and the sweeper until SIGTERM/SIGINT; returns once all stopped."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the steps in flight, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    spawn = multiprocessing.get_context("spawn")
    children = [_start(spawn, options, index) for index in range(options.processes)]
    sweeper = _start_sweeper(options, stop) if options.sweeper else None
    log.info(
        "worker: %d process(es) x %d thread(s) on %s",
        options.processes,
        options.threads,
        safe_url(options.broker_url),
    )
    while not stop.wait(RESTART_PAUSE):
        for index, child in enumerate(children):
            if not child.is_alive():
                log.warning("worker process %s exited (%s); starting another", child.name, child.exitcode)
                children[index] = _start(spawn, options, index)
    for child in children:
        child.terminate()  # SIGTERM: the child drains, then exits
    for child in children:
        child.join(options.grace + 10)
        if child.is_alive():
            log.warning("worker process %s did not stop in time; killing it", child.name)
            child.kill()
            child.join()
    if sweeper is not None:
        sweeper.join(30)


def _start(spawn: multiprocessing.context.SpawnContext, options: WorkerOptions, index: int) -> BaseProcess:
    child = spawn.Process(target=child_main, args=(options,), name=f"dossiermail-worker-{index}")
    child.start()
    return child


def _start_sweeper(options: WorkerOptions, stop: threading.Event) -> threading.Thread:
    store = open_store(options.db_url, migrate=False)
    queue = JobQueue(make_broker(options.broker_url, options.settings), options.settings)

    def run() -> None:
        try:
            sweep_forever(store, queue, stop)
        finally:
            queue.close()
            store.dispose()

    thread = threading.Thread(target=run, name="dossiermail-sweeper")
    thread.start()
    return thread


def child_main(options: WorkerOptions) -> None:
    """One worker process: consume the three step queues until SIGTERM, then drain and exit."""
    import dramatiq

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent turns Ctrl-C into SIGTERM
    context = _step_context(options)
    queue = _consumer_queue(options, context)
    worker = dramatiq.Worker(
        queue.broker,
        queues={queue.queue_name(s) for s in queue.actors},
        worker_threads=options.threads,
        worker_timeout=IDLE_POLL_MS,
    )
    worker.start()
    try:
        stopping.wait()
    finally:
        worker.stop(timeout=int(options.grace * 1000))
        queue.close()
        context.store.dispose()


def _step_context(options: WorkerOptions) -> StepContext:
    from dossiermail.commands.common import load_rules_or_fail

    return StepContext(
        store=open_store(options.db_url, migrate=False),
        options=RouteOptions(load_rules_or_fail(options.rules_dir)),
        site_dir=options.site_dir,
        settings=options.settings,
        worker=f"{socket.gethostname()}/{os.getpid()}",
    )


def _consumer_queue(options: WorkerOptions, context: StepContext) -> JobQueue:
    """The queue whose actors run steps here, then send the steps they asked for."""
    holder: list[JobQueue] = []

    def perform(_step: str, step_id: int) -> None:
        follow_ups = run_step(context, step_id)
        if follow_ups:  # counted as sent when they were requested: no write unless the send fails
            holder[0].send_counted(context.store, follow_ups)

    holder.append(JobQueue(make_broker(options.broker_url, options.settings), options.settings, perform))
    return holder[0]
