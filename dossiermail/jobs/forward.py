"""Handing committed steps to the broker from an ingestion process (serve-smtp), off the SMTP path.

The SMTP handler commits the raw bytes and the parse step in one transaction, answers 250, then
wakes the :class:`Forwarder`, whose thread sends every step not yet sent. A broker outage only
delays mail: the steps stay in the store and the worker's sweeper sends them later.
"""

from __future__ import annotations

import logging
import threading

from dossiermail.jobs.broker import JobQueue
from dossiermail.store import Store

log = logging.getLogger("dossiermail.jobs")


class Forwarder:
    """Sends unsent steps in one background thread; same interface as the in-process processor."""

    def __init__(self, store: Store, queue: JobQueue) -> None:
        self._store, self._queue = store, queue
        self._wanted, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dossiermail-forwarder", daemon=True)

    def start(self) -> None:
        """Start the thread and send whatever an earlier run left unsent."""
        self._thread.start()
        self.wake()

    def wake(self) -> None:
        """Ask for a run (after a new step was committed); never blocks."""
        self._wanted.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Send what is left, then stop and close the broker connection."""
        self._stopping.set()
        self._wanted.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._queue.close()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                self._queue.send_unsent(self._store)
            except Exception:
                log.exception("sending steps to the broker failed; the sweeper will send them")
            if self._stopping.is_set():
                return
