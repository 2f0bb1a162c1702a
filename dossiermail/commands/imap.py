"""``dossiermail poll-imap``: import mail from the configured IMAP folders, once or continuously.

Loop mode runs one watcher thread per folder (IDLE or polling, reconnecting with backoff) and stops
cleanly on SIGTERM or SIGINT. After each stored batch the new messages are parsed and routed
in-process, one batch at a time across all folders; with a broker (``DOSSIERMAIL_BROKER``) they get
a parse step each instead, sent to the workers.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from dossiermail.commands.common import CliError, err, load_rules_or_fail, open_store_or_fail, out
from dossiermail.commands.worker import job_queue_or_fail
from dossiermail.ingest.imap import CONNECTION_ERRORS, AfterBatch, FolderResult, FolderWatcher, poll_once
from dossiermail.ingest.imap_config import ImapConfigFile, Mailbox, load_imap_config, resolve_password
from dossiermail.jobs.broker import JobQueue
from dossiermail.jobs.outbox import SweepCounts, adopt_messages
from dossiermail.jobs.pipeline import RouteOptions, process_pending
from dossiermail.rules.problems import RulesError
from dossiermail.store import Store
from dossiermail.store.repo import sync_rules

log = logging.getLogger("dossiermail.imap")


def poll_imap_command(config_path: Path, rules_dir: Path | None, db: str | None, *, once: bool) -> None:
    """Check the configuration, open the store, then poll once or until stopped."""
    settings, mailboxes = _load(config_path)
    options = RouteOptions(load_rules_or_fail(rules_dir))
    queue = job_queue_or_fail()
    store = open_store_or_fail(db)
    try:
        with store.session() as session:
            sync_rules(session, options.rules)
        after_batch = _pipeline(store, options) if queue is None else _handoff(store, queue)
        if once:
            _once(store, mailboxes, settings, after_batch)
        else:
            _loop(store, mailboxes, settings, after_batch)
    finally:
        store.dispose()
        if queue is not None:
            queue.close()


def _load(path: Path) -> tuple[ImapConfigFile, list[Mailbox]]:
    try:
        settings = load_imap_config(path)
    except RulesError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        raise CliError(f"{len(exc.problems)} problem(s) in {path}, nothing polled") from None
    try:
        mailboxes = [Mailbox(config, resolve_password(config)) for config in settings.mailboxes]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return settings, mailboxes


def _pipeline(store: Store, options: RouteOptions) -> AfterBatch:
    lock = threading.Lock()

    def after_batch() -> None:
        # The batch is already committed: a parse/route failure must not stop the polling.
        # The messages keep their state and the next batch (or the next start) picks them up.
        with lock:
            try:
                process_pending(store, options)
            except Exception:
                log.exception("processing pending messages failed; they wait for the next batch")

    return after_batch


def _handoff(store: Store, queue: JobQueue) -> AfterBatch:
    lock = threading.Lock()

    def after_batch() -> None:
        # The batch is committed: give each new message its parse step and send it. A failure
        # here leaves them to the worker's sweeper, which adopts messages stored without a step.
        with lock:
            try:
                with store.session() as session:
                    sends = adopt_messages(session, 0.0, SweepCounts())
                queue.send_unsent(store, [send.id for send in sends])
            except Exception:
                log.exception("handing new messages to the workers failed; the sweeper will")

    return after_batch


def _once(store: Store, mailboxes: list[Mailbox], settings: ImapConfigFile, after_batch: AfterBatch) -> None:
    try:
        results = poll_once(store, mailboxes, settings, after_batch)
    except CONNECTION_ERRORS as exc:
        raise CliError(f"IMAP: {type(exc).__name__}: {_first_line(exc)}") from None
    except SQLAlchemyError as exc:
        raise CliError(f"store failed, nothing marked as read: {_first_line(exc)}") from None
    for result in results:
        _print(result)


def _print(result: FolderResult) -> None:
    rescan = " (UIDVALIDITY changed: rescanned)" if result.rescanned else ""
    out.print(
        f"{result.account}/{result.folder}: {result.fetched} fetched, {result.imported} new, "
        f"{result.duplicates} duplicates{rescan}",
        markup=False,
    )


def _loop(store: Store, mailboxes: list[Mailbox], settings: ImapConfigFile, after_batch: AfterBatch) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [
        threading.Thread(
            target=FolderWatcher(store, mailbox, folder, settings, after_batch).run,
            args=(stop,),
            name=f"imap:{mailbox.config.name}/{folder}",
        )
        for mailbox in mailboxes
        for folder in mailbox.config.folders
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        stop.wait(0.5)
        if stop.is_set():
            break
    for thread in threads:
        thread.join()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]
