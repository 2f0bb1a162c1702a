"""Handing committed steps to the broker from an ingestion process (serve-smtp), off the SMTP path.

The SMTP handler commits the raw bytes and the parse step in one transaction, answers 250, then
wakes the :class:`Forwarder`, whose thread sends every step not yet sent. A broker outage only
delays mail: the steps stay in the store and the worker's sweeper sends them later.
"""

from __future__ import annotations

from dossiermail.jobs.broker import JobQueue
from dossiermail.jobs.coalescing import CoalescingThread
from dossiermail.store import Store


class Forwarder(CoalescingThread):
    """Sends unsent steps in one background thread; same interface as the in-process processor."""

    name = "dossiermail-forwarder"
    drain_on_stop = True
    failure = "sending steps to the broker failed; the sweeper will send them"

    def __init__(self, store: Store, queue: JobQueue) -> None:
        self._store, self._queue = store, queue
        super().__init__()

    def run_once(self) -> None:
        """Send every committed step not sent yet."""
        self._queue.send_unsent(self._store)

    def stop(self, timeout: float = 30.0) -> None:
        """Send what is left, then stop and close the broker connection."""
        super().stop(timeout)
        self._queue.close()
