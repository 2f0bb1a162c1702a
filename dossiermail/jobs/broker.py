"""The broker and its actors, built on demand (never at import time): Redis or RabbitMQ via dramatiq.

``DOSSIERMAIL_BROKER`` selects the broker: ``redis://…`` (RedisBroker, its namespace is the queue
prefix) or ``amqp://…`` (RabbitmqBroker). Messages carry only a ``job_steps`` id; the queue names
are ``<prefix>.parse``, ``<prefix>.route`` and ``<prefix>.publish``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from dossiermail.jobs.outbox import STEPS, Send, mark_sent, unmark_sent, unsent
from dossiermail.jobs.settings import JobSettings, broker_url
from dossiermail.store import Store

log = logging.getLogger("dossiermail.jobs")

StepRunner = Callable[[str, int], None]
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
AMQP_SCHEMES = ("amqp://", "amqps://")


PRIORITIES = {"parse": 10}
"""dramatiq's order among the messages a worker process has fetched (lower first): a route step a
parse step left behind (its route locks were busy) runs before the parse steps fetched after it, so
a related message parsed meanwhile does not route first (routing is not blind to arrival order)."""


class BrokerError(Exception):
    """The broker URL is not usable; one line for the user."""


def make_broker(url: str, settings: JobSettings) -> Any:
    """A dramatiq broker for ``url`` (connections are opened lazily, on first use)."""
    if url.startswith(REDIS_SCHEMES):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=settings.queue_prefix, socket_connect_timeout=10)  # type: ignore[no-untyped-call]
    if url.startswith(AMQP_SCHEMES):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise BrokerError(f"DOSSIERMAIL_BROKER={url!r}: expected a redis://… or amqp://… URL")


def check_broker(url: str, settings: JobSettings) -> None:
    """Connect once to the broker; ``BrokerError`` with one line when it cannot be reached."""
    broker = make_broker(url, settings)
    try:
        if hasattr(broker, "client"):
            broker.client.ping()
        else:
            _ = broker.connection
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BrokerError(f"cannot reach the broker {safe_url(url)}: {first}") from None
    finally:
        broker.close()


def safe_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _refuse(step: str, step_id: int) -> None:
    raise RuntimeError(f"this process only sends steps; {step} {step_id} must run in a worker")


class JobQueue:
    """The broker plus one actor per step; ``runner`` executes a step in a worker process."""

    def __init__(self, broker: Any, settings: JobSettings, runner: StepRunner | None = None) -> None:
        import dramatiq

        self.broker, self.settings = broker, settings
        run = runner or _refuse
        self.actors = {
            step: dramatiq.Actor(
                _bind(run, step),
                broker=broker,
                actor_name=f"dossiermail_{step}",
                queue_name=self.queue_name(step),
                priority=PRIORITIES.get(step, 0),
                options={"max_retries": 0},  # retries are the outbox's, with backoff and dead letters
            )
            for step in STEPS
        }

    def queue_name(self, step: str) -> str:
        """The broker queue of ``step``."""
        return f"{self.settings.queue_prefix}.{step}"

    def send(self, sends: Iterable[Send]) -> list[int]:
        """Put the steps on the broker; the ids sent (a broker failure is logged, the rest wait)."""
        sent: list[int] = []
        for item in sends:
            try:
                self.actors[item.step].send_with_options(
                    args=(item.id,), delay=int(item.delay * 1000) or None
                )
            except Exception as exc:
                log.warning("broker unreachable (%s); the sweeper will send the pending steps", exc)
                break
            sent.append(item.id)
        return sent

    def send_unsent(self, store: Store, ids: list[int] | None = None) -> int:
        """Send the committed steps nobody sent yet (optionally among ``ids``); how many were sent."""
        with store.session() as session:
            pending = unsent(session, ids)
        sent = self.send(pending)
        with store.session() as session:
            mark_sent(session, sent)
        return len(sent)

    def send_counted(self, store: Store, sends: list[Send]) -> int:
        """Send steps already counted as sent (a worker's follow-ups); those the broker refuses are
        marked unsent again, for the sweeper's next pass. How many were sent."""
        sent = set(self.send(sends))
        refused = [send.id for send in sends if send.id not in sent]
        if refused:
            with store.session() as session:
                unmark_sent(session, refused)
        return len(sent)

    def close(self) -> None:
        """Close the broker's connections."""
        self.broker.close()


def _bind(run: StepRunner, step: str) -> Callable[[int], None]:
    def perform(step_id: int) -> None:
        run(step, step_id)

    perform.__name__ = f"perform_{step}"
    return perform


def queue_from_env(settings: JobSettings | None = None, runner: StepRunner | None = None) -> JobQueue | None:
    """The job queue when ``DOSSIERMAIL_BROKER`` is set, else None (everything runs in-process)."""
    url = broker_url()
    if url is None:
        return None
    chosen = settings or JobSettings.from_env()
    return JobQueue(make_broker(url, chosen), chosen, runner)
