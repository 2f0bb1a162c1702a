"""The ASGI layer around the whole server: security headers on every response, GET/HEAD only.

It wraps the Starlette application from the outside, so even its error pages carry the headers.
Paths are logged with access tokens cut out.
"""

from __future__ import annotations

import logging
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
READ_METHODS = frozenset({"GET", "HEAD"})
METHOD_NOT_ALLOWED = "Méthode non autorisée : l’extranet est en lecture seule.\n".encode()
_TOKEN_IN_PATH = re.compile(r"^/acces/.*")

log = logging.getLogger("dossiermail.extranet")


class ReadOnlySecurityLayer:
    """Adds the security headers, refuses every method but GET and HEAD (405), logs each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        if scope["method"] in READ_METHODS:
            await self.app(scope, receive, send_with_headers)
        else:
            await _method_not_allowed(send_with_headers)
        log.info("%s %s %d", scope["method"], loggable_path(str(scope.get("path", ""))), status)


def loggable_path(path: str) -> str:
    """The request path with any access token replaced by « … »."""
    return _TOKEN_IN_PATH.sub("/acces/…", path)


async def _method_not_allowed(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 405,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(METHOD_NOT_ALLOWED)).encode()),
                (b"allow", b"GET, HEAD"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": METHOD_NOT_ALLOWED})
