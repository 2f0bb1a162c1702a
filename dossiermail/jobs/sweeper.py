"""The sweeper: re-sends what a dead worker or a lost broker message left behind.

One pass (``sweep``) frees steps whose lease expired, re-sends due steps that were never sent or
whose message was never acknowledged within the ack timeout, and gives a parse or route step to
messages stored without one. Run it in the worker (a thread) and/or from cron (``jobs sweep``).
"""

from __future__ import annotations

import logging
import threading

from dossiermail.jobs.broker import JobQueue
from dossiermail.jobs.outbox import SweepCounts, adopt_messages, expire_leases, lost_steps, mark_sent
from dossiermail.store import Store

log = logging.getLogger("dossiermail.jobs")


def sweep(store: Store, queue: JobQueue) -> SweepCounts:
    """One pass over the outbox; every step found is sent again."""
    counts = SweepCounts()
    settings = queue.settings
    with store.session() as session:
        sends = expire_leases(session, settings, counts)
        sends += adopt_messages(session, settings.ack_timeout, counts)
    with store.session() as session:
        sends += lost_steps(session, settings, counts)
    sent = queue.send({send.id: send for send in sends}.values())
    with store.session() as session:
        mark_sent(session, sent)
    if counts.expired or counts.lost or counts.adopted or counts.dead:
        log.info(
            "sweep: %d lease(s) expired, %d re-sent, %d adopted, %d dead-lettered",
            counts.expired,
            counts.lost,
            counts.adopted,
            counts.dead,
        )
    return counts


def sweep_forever(store: Store, queue: JobQueue, stop: threading.Event) -> None:
    """Sweep every ``sweep_interval`` seconds until ``stop``; a failed pass is logged and retried."""
    while not stop.is_set():
        try:
            sweep(store, queue)
        except Exception:
            log.exception("sweep failed; retrying at the next interval")
        stop.wait(queue.settings.sweep_interval)
