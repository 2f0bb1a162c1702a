"""The SMTP edge: an aiosmtpd server that commits each message to the store before answering 250.

Only building addresses and ``dossiers+<slug>[+ref]@domain`` plus-addresses from the rules are
accepted (``550 5.1.1`` for anyone else: never an open relay). Limits: message size (``552 5.3.4``),
recipients per message (``452 4.5.3``), concurrent sessions (``421 4.3.2``), line length and command
size (aiosmtpd's RFC 5321 limits), one timeout per command (a whole DATA included). A DATA section
with a ``.`` line ended by a bare CR or LF (SMTP smuggling) is refused with ``550 5.6.0``.

The raw bytes and envelope are committed in a worker thread; any storage failure answers
``451 4.3.0`` so the client retries (an exception escaping a handler would become a 5xx: a lost
mail), and so does a commit still unfinished after ``storage_timeout`` (a database that went silent):
should that commit land later, the retry is a duplicate of it and the message is still stored once.
After the 250, :class:`Processor` parses and routes pending messages in one background thread;
with a job queue (a broker), the parse step is committed with the message and a
:class:`~dossiermail.jobs.forward.Forwarder` hands it to the workers instead.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from dossiermail.domain import AcceptResult, RawMail
from dossiermail.ingest.accept import accept
from dossiermail.jobs.broker import JobQueue
from dossiermail.jobs.coalescing import CoalescingThread
from dossiermail.jobs.forward import Forwarder
from dossiermail.jobs.outbox import add_step
from dossiermail.jobs.pipeline import RouteOptions, process_pending
from dossiermail.rules.model import Rules
from dossiermail.store import Store
from dossiermail.store.repo import sync_rules
from dossiermail.threading.collectors.explicit_address import building_for_address

log = logging.getLogger(__name__)

REPLY_STORAGE_FAILED = "451 4.3.0 Temporary storage failure, try again later"
REPLY_TOO_BIG = "552 5.3.4 Message too big for this system"
REPLY_SMUGGLING = "550 5.6.0 Bare CR or LF around a '.' line refused (SMTP smuggling)"
REPLY_BUSY = b"421 4.3.2 Too many connections, try again later\r\n"
_AIOSMTPD_TOO_BIG = ("552 Error: Too much mail data", "552 Error: message size exceeds")

# Bytes of the wire kept between reads: more than the longest dot line (CRLF . CRLF).
_TAIL = 6
# A "." alone on a line, between any two line breaks (CRLF, bare CR, bare LF) or at the very start.
_DOT_LINE = re.compile(rb"(\r\n|\r|\n|^)\.(\r\n|\r|\n)")


@dataclass(frozen=True)
class SmtpSettings:
    """Where to listen and the limits every session is held to."""

    host: str = "127.0.0.1"
    port: int = 2525
    max_size: int = 25 * 1024 * 1024
    max_recipients: int = 100
    max_sessions: int = 50
    timeout: float = 300.0
    shutdown_grace: float = 30.0
    storage_timeout: float = 60.0
    tls_context: ssl.SSLContext | None = None
    hostname: str | None = None


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for STARTTLS from a PEM certificate chain and its key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def smuggling_attempt(content: bytes, after: int = 0) -> bool:
    """True when a lone ``.`` line is delimited by a bare CR or LF (another server's end of data).

    Only dot lines ending past offset ``after`` count.
    """
    for match in _DOT_LINE.finditer(content):
        if match.end() <= after:
            continue
        before, after_dot = match.group(1), match.group(2)
        if before not in (b"", b"\r\n") or after_dot != b"\r\n":
            return True
    return False


class Processor(CoalescingThread):
    """Parses and routes pending messages in one background thread, one run at a time.

    ``wake`` never blocks and never fails; runs coalesce. A failed run is logged and the messages stay
    in their state in the store for the next run.
    """

    name = "dossiermail-processor"
    failure = "processing pending messages failed; they stay pending for the next run"

    def __init__(self, store: Store, rules: Rules) -> None:
        self._store, self._options = store, RouteOptions(rules)
        super().__init__()

    def run_once(self) -> None:
        """Parse and route whatever is pending."""
        process_pending(self._store, self._options)


class MailHandler:
    """aiosmtpd hooks: which recipients we take, and storing a message before saying 250."""

    def __init__(
        self,
        store: Store,
        rules: Rules,
        settings: SmtpSettings,
        processor: Processor | Forwarder,
        queue: JobQueue | None = None,
    ) -> None:
        self.store, self.rules, self.settings, self.processor = store, rules, settings, processor
        self.queue = queue

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Accept building and dossier addresses only; cap the recipients of one message."""
        if building_for_address(address, self.rules) is None:
            return f"550 5.1.1 <{address}>: recipient address rejected: not a dossier address"
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Commit the raw bytes and envelope, then answer; ``451`` on any storage failure."""
        content: bytes = envelope.original_content or b""
        peer = _peer(session)
        seen_on_the_wire = isinstance(server, _SmtpSession) and server.smuggling_seen
        if isinstance(server, _SmtpSession):
            server.smuggling_seen = False  # the session's next message starts clean
        if seen_on_the_wire or smuggling_attempt(content):
            log.warning("refused a message from %s: bare CR/LF around a '.' line", peer)
            return REPLY_SMUGGLING
        mail = RawMail(
            raw=content,
            channel="smtp",
            source=f"smtp:{peer}",
            received_at=datetime.now(UTC),
            envelope_from=envelope.mail_from or None,
            envelope_to=tuple(envelope.rcpt_tos),
        )
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(self._commit, mail), self.settings.storage_timeout
            )
        except TimeoutError:
            log.error(
                "storing a message from %s took over %.0fs; answered 451", peer, self.settings.storage_timeout
            )
            return REPLY_STORAGE_FAILED
        except Exception:
            log.exception("could not store a message from %s; answered 451", peer)
            return REPLY_STORAGE_FAILED
        what = "duplicate of" if result.duplicate else "stored"
        log.info("%s %s from %s for %s", what, result.message_key[:12], peer, ", ".join(mail.envelope_to))
        self.processor.wake()
        return f"250 2.0.0 Ok: queued as {result.message_key[:12]}"

    def _commit(self, mail: RawMail) -> AcceptResult:
        with self.store.session() as session:
            result = accept(session, mail)
            if self.queue is not None and not result.duplicate:
                add_step(session, "parse", result.message_key)
            return result


def _peer(session: Session) -> str:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


class SessionGate:
    """Counts open sessions, refuses those over the cap, and closes stragglers at shutdown."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: set[asyncio.BaseTransport] = set()

    def enter(self, transport: asyncio.BaseTransport) -> bool:
        """Admit a new connection unless the cap is reached."""
        if len(self.open) >= self.limit:
            return False
        self.open.add(transport)
        return True

    def leave(self, transport: asyncio.BaseTransport) -> None:
        """Forget a closed connection."""
        self.open.discard(transport)


class _SmtpSession(SMTP):
    """aiosmtpd's SMTP with the session cap, a smuggling watch on the wire and enhanced size codes."""

    def __init__(self, handler: MailHandler, gate: SessionGate, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._gate = gate
        self._admitted: asyncio.BaseTransport | None = None
        self._tail = b""
        self.smuggling_seen = False

    def data_received(self, data: bytes) -> None:
        """Watch the bytes as sent: aiosmtpd removes the dot of a dot-stuffed line before DATA ends.

        The tail of the previous chunks is kept so a dot line cut between two reads is seen; a match
        lying wholly in that tail was judged (with its full context) on the previous read.
        """
        window = self._tail + data
        if not self.smuggling_seen and smuggling_attempt(window, after=len(self._tail)):
            self.smuggling_seen = True
        self._tail = window[-_TAIL:]
        super().data_received(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._admitted is None:  # the TCP connection (STARTTLS calls this again)
            if not self._gate.enter(transport):
                transport.write(REPLY_BUSY)  # type: ignore[attr-defined]
                transport.close()
                return
            self._admitted = transport
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._admitted is None:
            return
        self._gate.leave(self._admitted)
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith(_AIOSMTPD_TOO_BIG):
            status = REPLY_TOO_BIG
        await super().push(status)


async def serve(
    store: Store,
    rules: Rules,
    settings: SmtpSettings,
    stop: asyncio.Event,
    on_ready: Callable[[str, int], None] | None = None,
    queue: JobQueue | None = None,
) -> None:
    """Serve until ``stop`` is set, then stop listening and let sessions in flight finish.

    Without ``queue`` mail is parsed and routed here; with one, it goes to the workers.
    """
    await asyncio.to_thread(_sync_rules, store, rules)
    processor = Processor(store, rules) if queue is None else Forwarder(store, queue)
    handler = MailHandler(store, rules, settings, processor, queue)
    gate = SessionGate(settings.max_sessions)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _SmtpSession(
            handler,
            gate,
            data_size_limit=settings.max_size,
            enable_SMTPUTF8=True,
            hostname=settings.hostname,
            tls_context=settings.tls_context,
            timeout=settings.timeout,
            loop=loop,
        ),
        settings.host,
        settings.port,
    )
    processor.start()
    try:
        if on_ready is not None:
            host, port = server.sockets[0].getsockname()[:2]
            on_ready(str(host), int(port))
        await stop.wait()
    finally:
        server.close()
        await _drain(gate, settings.shutdown_grace)
        await asyncio.to_thread(processor.stop)


def _sync_rules(store: Store, rules: Rules) -> None:
    with store.session() as session:
        sync_rules(session, rules)


async def _drain(gate: SessionGate, grace: float) -> None:
    """Wait up to ``grace`` seconds for open sessions, then close the rest."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while gate.open and loop.time() < deadline:
        await asyncio.sleep(0.05)
    if gate.open:
        log.warning("closing %d SMTP session(s) still open after %.0fs", len(gate.open), grace)
    for transport in list(gate.open):
        transport.close()
    await asyncio.sleep(0)


@contextmanager
def serving(store: Store, rules: Rules, settings: SmtpSettings) -> Iterator[tuple[str, int]]:
    """Run the server in a background thread (for embedding and tests); yields (host, port)."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready: list[tuple[str, int]] = []
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(serve(store, rules, settings, stop, _ready))
        except BaseException as exc:
            failure.append(exc)
        finally:
            started.set()
            loop.close()

    def _ready(host: str, port: int) -> None:
        ready.append((host, port))
        started.set()

    thread = threading.Thread(target=run, name="dossiermail-smtp", daemon=True)
    thread.start()
    started.wait(30)
    if not ready:
        thread.join(5)
        raise RuntimeError(f"SMTP server did not start: {failure[0] if failure else 'timeout'}")
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(settings.shutdown_grace + 30)
    if failure:
        raise RuntimeError("SMTP server failed") from failure[0]
