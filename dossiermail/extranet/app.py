"""The Starlette application of ``dossiermail serve``: access links, the session, the grant's pages.

Every request for a building page checks the session cookie's signature and then the grant in the
store (so a revocation takes effect on the next request). Whatever a visitor may not see answers
exactly like a missing page: one 404 body and the same headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from dossiermail.extranet.attachments import delivery
from dossiermail.extranet.favicon import favicon_png
from dossiermail.extranet.grants import Grant, active_grant, grant_for_link
from dossiermail.extranet.headers import ReadOnlySecurityLayer
from dossiermail.extranet.pages import environment, landing_page, not_found_page, search_page
from dossiermail.extranet.search import SearchIndex
from dossiermail.extranet.sitetree import SiteTree
from dossiermail.extranet.tokens import session_token_id, session_value
from dossiermail.store import Store

SESSION_COOKIE = "dossiermail_session"
HTML = "text/html; charset=utf-8"
MAX_QUERY_LENGTH = 200
_ENCODED_SEPARATOR = re.compile(rb"%(?:2f|5c|00)", re.IGNORECASE)


@dataclass(frozen=True)
class ServerSettings:
    """What the server needs: the published tree, the store, the secret, the cookie policy."""

    site: Path
    store: Store
    secret: bytes
    secure_cookies: bool = False


class Extranet:
    """The request handlers, sharing the settings, the rendered 404 and the search cache."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.tree = SiteTree(settings.site)
        self.env = environment()
        self.not_found_body = not_found_page(self.env)
        self.landing_body = landing_page(self.env)
        self.search_index = SearchIndex()

    def not_found(self, _request: Request | None = None, _exc: Exception | None = None) -> Response:
        """The one answer for missing, forbidden and invalid."""
        return Response(self.not_found_body, status_code=404, media_type=HTML)

    def health(self, _request: Request) -> Response:
        """``/sante``: the process answers (no data)."""
        return PlainTextResponse("ok")

    def favicon(self, _request: Request) -> Response:
        """``/favicon.ico``: the site icon (browsers ask for it on every site)."""
        return Response(favicon_png(), media_type="image/png")

    def landing(self, request: Request) -> Response:
        """``/``: back to one's building with a session, else a short explanation."""
        grant = self._session_grant(request)
        if grant is not None:
            return RedirectResponse(f"/{grant.building}/", status_code=303)
        return Response(self.landing_body, media_type=HTML)

    def stylesheet(self, _request: Request) -> Response:
        """The published tree's shared ``style.css``."""
        path = self.tree.stylesheet()
        if path is None:
            return self.not_found()
        return FileResponse(path, media_type="text/css; charset=utf-8")

    def open_link(self, request: Request) -> Response:
        """``/acces/<token>``: a valid link sets the session cookie and leads to the building page."""
        with self.settings.store.sessions() as session:
            grant = grant_for_link(session, self.settings.secret, str(request.path_params["token"]))
        if grant is None:
            return self.not_found()
        response = RedirectResponse(f"/{grant.building}/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_value(self.settings.secret, grant.token_id),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies or request.url.scheme == "https",
        )
        return response

    def building_root(self, request: Request) -> Response:
        """``/<building>`` without the slash: to ``/<building>/`` for its grant only."""
        building = str(request.path_params["building"])
        if self._grant_for(request, building) is None:
            return self.not_found()
        return RedirectResponse(f"/{building}/", status_code=308)

    def page(self, request: Request) -> Response:
        """A published file of the grant's building and audience: page or attachment."""
        building = str(request.path_params["building"])
        rest = str(request.path_params["rest"])
        grant = self._grant_for(request, building)
        path = None if grant is None else self.tree.page(building, grant.audience, rest)
        if path is None:
            return self.not_found()
        if path.suffix == ".html" and not rest.startswith("pieces/"):
            return FileResponse(path, media_type=HTML)
        how = delivery(path.name)
        return FileResponse(
            path, media_type=how.media_type, filename=path.name, content_disposition_type=how.disposition
        )

    def search(self, request: Request) -> Response:
        """``/<building>/recherche?q=…&page=N``: the grant's audience's messages with every word."""
        grant = self._grant_for(request, str(request.path_params["building"]))
        if grant is None or self.tree.audience_dir(grant.building, grant.audience) is None:
            return self.not_found()
        query = request.query_params.get("q", "")[:MAX_QUERY_LENGTH]
        page = _page_number(request.query_params.get("page", "1"))
        index = self.tree.search_index(grant.building, grant.audience)
        results = self.search_index.search(index, query, page)
        return HTMLResponse(search_page(self.env, grant.building_name, grant.audience, results))

    def _grant_for(self, request: Request, building: str) -> Grant | None:
        """The session's grant if it is for ``building`` and the path spells its slashes plainly."""
        if _ENCODED_SEPARATOR.search(request.scope.get("raw_path") or b""):
            return None
        grant = self._session_grant(request)
        return grant if grant is not None and grant.building == building else None

    def _session_grant(self, request: Request) -> Grant | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        token_id = session_token_id(self.settings.secret, cookie) if cookie else None
        if token_id is None:
            return None
        with self.settings.store.sessions() as session:
            return active_grant(session, token_id, datetime.now(UTC))


def _page_number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 6 else 1


def create_app(settings: ServerSettings) -> ASGIApp:
    """The whole server: the routes inside the read-only security layer."""
    handlers = Extranet(settings)
    routes = [
        Route("/sante", handlers.health),
        Route("/", handlers.landing),
        Route("/style.css", handlers.stylesheet),
        Route("/favicon.ico", handlers.favicon),
        Route("/acces/{token}", handlers.open_link),
        Route("/{building}", handlers.building_root),
        Route("/{building}/recherche", handlers.search),
        Route("/{building}/{rest:path}", handlers.page),
    ]
    app = Starlette(routes=routes, exception_handlers={404: handlers.not_found})
    app.router.redirect_slashes = False
    return ReadOnlySecurityLayer(app)
