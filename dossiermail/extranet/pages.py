"""The server's own French pages: the one 404, the landing page and the search results.

Rendered with jinja2 (autoescaping on) in the look of the published site: they link the shared
``/style.css`` and use its classes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined

from dossiermail.audience import Audience
from dossiermail.extranet.search import PAGE_SIZE, SearchPage
from dossiermail.publish.formatting import fr_datetime
from dossiermail.publish.render import audience_label

GENERIC_NAME = "Extranet de la copropriété"


def environment() -> Environment:
    """The jinja2 environment of the server pages."""
    env = Environment(
        loader=PackageLoader("dossiermail.extranet"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["display_date"] = display_date
    return env


def display_date(value: str) -> str:
    """An ISO date of the search index in French (« 3 mars 2026 à 10:12 »), else as written."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return fr_datetime(moment) if moment.tzinfo is not None else value


def not_found_page(env: Environment) -> bytes:
    """The one 404 body, the same for every missing or forbidden page."""
    page = env.get_template("not_found.html").render(building_name=GENERIC_NAME, audience_label="")
    return page.encode("utf-8")


def landing_page(env: Environment) -> bytes:
    """The page at ``/`` for visitors without a session."""
    page = env.get_template("landing.html").render(building_name=GENERIC_NAME, audience_label="")
    return page.encode("utf-8")


def search_page(env: Environment, building_name: str, audience: Audience, results: SearchPage) -> str:
    """The results page of a search (also the empty search form)."""
    return env.get_template("search.html").render(
        building_name=building_name,
        audience_label=audience_label(audience),
        results=results,
        first_rank=(results.page - 1) * PAGE_SIZE + 1,
        page_href=_page_href(results.query),
    )


def _page_href(query: str) -> Callable[[int], str]:
    def href(page: int) -> str:
        return "recherche?" + urlencode({"q": query, "page": page})

    return href
