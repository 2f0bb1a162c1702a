"""A background thread whose runs coalesce: ``wake`` asks for a run and never blocks.

The SMTP server uses two of them after the 250: the in-process processor (parse and route what is
pending) and, with a broker, the forwarder (send the committed steps). A run that fails is logged;
what it left stays in the store for the next run.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("dossiermail.jobs")


class CoalescingThread:
    """Runs ``run_once`` in one thread, once per batch of wake-ups; subclasses say what a run does."""

    name = "dossiermail-background"
    drain_on_stop = False
    """True: ``stop`` makes one last run (send what is left); False: it only finishes the current run."""
    failure = "background run failed; what it left stays in the store for the next run"

    def __init__(self) -> None:
        self._wanted, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)

    def run_once(self) -> None:
        """One run; subclasses override."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the thread and make a first run for whatever an earlier process left."""
        self._thread.start()
        self.wake()

    def wake(self) -> None:
        """Ask for a run (after something new was committed); never blocks, never fails."""
        self._wanted.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current run (and one last run when ``drain_on_stop``)."""
        self._stopping.set()
        self._wanted.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            if self._stopping.is_set() and not self.drain_on_stop:
                return
            self._wanted.clear()
            try:
                self.run_once()
            except Exception:
                log.exception(self.failure)
            if self._stopping.is_set():
                return
