"""``dossiermail worker``: run the pipeline's dramatiq workers and the sweeper until SIGTERM."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from dossiermail.commands.common import CliError, load_rules_or_fail, open_store_or_fail
from dossiermail.jobs.settings import JobSettings, broker_url, site_dir
from dossiermail.rules.model import Rules
from dossiermail.store import Store
from dossiermail.store.repo import sync_rules

if TYPE_CHECKING:
    from dossiermail.jobs.broker import JobQueue


def worker_command(
    processes: int,
    threads: int,
    site: Path | None,
    rules_dir: Path | None,
    db: str | None,
    *,
    sweeper: bool,
) -> None:
    """Check the set-up (broker, rules, store), then run until told to stop."""
    from dossiermail.jobs.worker import LOG_FORMAT, WorkerOptions, run_worker

    if processes < 1 or threads < 1:
        raise CliError(f"--processes and --threads must be at least 1 (got {processes} and {threads})")
    url = broker_url()
    if url is None:
        raise CliError(
            "no broker: set DOSSIERMAIL_BROKER=redis://… or amqp://… (without one, "
            "import, serve-smtp and poll-imap process mail themselves)"
        )
    settings = settings_or_fail()
    rules = load_rules_or_fail(rules_dir)
    store = open_store_or_fail(db)
    try:
        _sync_rules(store, rules)
        options = WorkerOptions(
            broker_url=url,
            db_url=store.url,
            rules_dir=rules_dir,
            site_dir=site_dir(site).resolve(),
            settings=settings,
            processes=processes,
            threads=threads,
            sweeper=sweeper,
        )
    finally:
        store.dispose()
    check_broker_or_fail(options.broker_url, settings)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    run_worker(options)


def _sync_rules(store: Store, rules: Rules, tries: int = 3) -> None:
    """Mirror the rules into the store; another process starting at the same time may race us."""
    for attempt in range(1, tries + 1):
        try:
            with store.session() as session:
                sync_rules(session, rules)
        except IntegrityError:
            if attempt == tries:
                raise
            time.sleep(0.2 * attempt)
        else:
            return


def settings_or_fail() -> JobSettings:
    """The job settings from the environment, or a one-line error naming the bad variable."""
    try:
        return JobSettings.from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from None


def check_broker_or_fail(url: str, settings: JobSettings) -> None:
    """Connect once to the broker, or a one-line error."""
    from dossiermail.jobs.broker import BrokerError, check_broker

    try:
        check_broker(url, settings)
    except BrokerError as exc:
        raise CliError(str(exc)) from None


def job_queue_or_fail() -> JobQueue | None:
    """The job queue when ``DOSSIERMAIL_BROKER`` is set (ingestion hands work to it), else None."""
    from dossiermail.jobs.broker import BrokerError, queue_from_env

    if broker_url() is None:
        return None
    settings = settings_or_fail()
    try:
        return queue_from_env(settings)
    except BrokerError as exc:
        raise CliError(str(exc)) from None
