"""``dossiermail serve-smtp``: run the SMTP edge until SIGTERM or SIGINT, then drain and exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

from dossiermail.commands.common import CliError, load_rules_or_fail, open_store_or_fail, out
from dossiermail.commands.worker import job_queue_or_fail
from dossiermail.ingest.smtp import SmtpSettings, serve, tls_context
from dossiermail.jobs.broker import JobQueue
from dossiermail.rules.model import Rules
from dossiermail.store import Store


@dataclass(frozen=True)
class ServeArgs:
    """The command line of ``serve-smtp``."""

    host: str
    port: int
    rules_dir: Path | None
    db: str | None
    max_size: int
    tls_cert: Path | None = None
    tls_key: Path | None = None


def serve_smtp_command(args: ServeArgs) -> None:
    """Check the arguments, open rules and store, serve until told to stop."""
    if args.max_size <= 0:
        raise CliError(f"--max-size must be a positive number of bytes (got {args.max_size})")
    settings = SmtpSettings(host=args.host, port=args.port, max_size=args.max_size, tls_context=_tls(args))
    rules = load_rules_or_fail(args.rules_dir)
    queue = job_queue_or_fail()
    store = open_store_or_fail(args.db)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO
    try:
        asyncio.run(_serve_until_signal(store, rules, settings, queue))
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    finally:
        store.dispose()


def _tls(args: ServeArgs) -> ssl.SSLContext | None:
    if args.tls_cert is None and args.tls_key is None:
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise CliError("--tls-cert and --tls-key go together")
    try:
        return tls_context(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise CliError(f"cannot load the TLS certificate or key: {exc}") from None


async def _serve_until_signal(
    store: Store, rules: Rules, settings: SmtpSettings, queue: JobQueue | None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(store, rules, settings, stop, _announce, queue)


def _announce(host: str, port: int) -> None:
    out.print(f"dossiermail: SMTP listening on {host}:{port}", markup=False)
    sys.stdout.flush()
