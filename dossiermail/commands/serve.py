"""``dossiermail serve``: the read-only extranet over HTTP, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from dossiermail.commands.access import secret_or_fail
from dossiermail.commands.common import CliError, err, open_store_or_fail


@dataclass(frozen=True)
class ServeArgs:
    """The options of ``serve``."""

    host: str
    port: int
    site: Path
    db: str | None
    secret_file: Path | None
    secure_cookies: bool
    trusted_proxies: tuple[str, ...]


def serve_command(args: ServeArgs) -> None:
    """Check the site folder, the secret and the store, then serve until stopped."""
    import uvicorn

    from dossiermail.extranet.app import ServerSettings, create_app

    if not args.site.is_dir():
        raise CliError(f"site folder {args.site} does not exist (see 'dossiermail publish --out')")
    secret = secret_or_fail(args.secret_file)
    store = open_store_or_fail(args.db)
    app = create_app(ServerSettings(args.site, store, secret, args.secure_cookies))
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        proxy_headers=bool(args.trusted_proxies),
        forwarded_allow_ips=list(args.trusted_proxies) or None,
        server_header=False,
        access_log=False,
        log_level="info",
    )
    _log_requests()
    err.print(f"extranet : http://{args.host}:{args.port}/ (site {args.site})", markup=False)
    _stop_quietly()
    try:
        uvicorn.Server(config).run()
    finally:
        store.dispose()


def _log_requests() -> None:
    """One line per request on stderr (paths only, access tokens cut out; uvicorn's own log is off)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("dossiermail.extranet")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _stop_quietly() -> None:
    """Let SIGTERM/SIGINT end the server with status 0.

    uvicorn catches them, shuts down gracefully, then re-raises the signal into the handler that was
    installed before it started: this one, which does nothing, so a clean stop is a clean exit.
    """
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda _signum, _frame: None)
