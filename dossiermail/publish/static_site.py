"""The static export: a folder of French HTML pages per building, uploadable anywhere.

``OUT/<building>/index.html`` lists the dossiers, ``OUT/<building>/dossiers/<reference>.html``
shows one dossier's messages, ``OUT/<building>/style.css`` styles both. No JavaScript, no remote
resource. Every file is written atomically, and republishing the same store gives the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.orm import Session

from dossiermail.publish.formatting import (
    file_size,
    fr_date,
    fr_datetime,
    iso_datetime,
    safe_filename,
)
from dossiermail.publish.redact import public_overview, public_timeline
from dossiermail.timeline import (
    BuildingOverview,
    DossierSummary,
    build_timeline,
    building_overview,
    building_slugs,
    role_label,
    status_label,
)

STYLESHEET = "style.css"
DOSSIERS_DIR = "dossiers"
KNOWN_STATUSES = frozenset({"ouvert", "a_qualifier", "clos"})


@dataclass(frozen=True)
class PublishReport:
    """What a static export wrote: for which buildings, how many pages, where the indexes are."""

    out_dir: Path
    buildings: tuple[str, ...]
    pages_written: int
    index_pages: tuple[Path, ...]


def publish_static(
    session: Session, out_dir: Path, *, buildings: Sequence[str] | None = None
) -> PublishReport:
    """Write the extranet pages of ``buildings`` (every building by default) under ``out_dir``.

    Unknown building slugs raise ``TimelineLookupError`` before anything is written.
    """
    slugs = tuple(buildings) if buildings is not None else tuple(building_slugs(session))
    overviews = [building_overview(session, slug) for slug in slugs]
    env = template_environment()
    pages = 0
    index_pages: list[Path] = []
    for overview in overviews:
        index_page, written = _publish_building(session, env, out_dir, overview)
        index_pages.append(index_page)
        pages += written
    return PublishReport(out_dir, slugs, pages, tuple(index_pages))


def template_environment() -> Environment:
    """The jinja2 environment: package templates, autoescaping on, French filters."""
    env = Environment(
        loader=PackageLoader("dossiermail.publish"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        fr_date=fr_date,
        fr_datetime=fr_datetime,
        iso_datetime=iso_datetime,
        file_size=file_size,
        role_label=role_label,
        status_label=status_label,
        status_class=status_class,
    )
    return env


def status_class(status: str) -> str:
    """The CSS class of a status badge; unknown statuses share a neutral one."""
    return f"status-{status}" if status in KNOWN_STATUSES else "status-autre"


def dossier_filenames(dossiers: Iterable[DossierSummary]) -> dict[int, str]:
    """Each dossier's page name: its reference made safe, with its id when two names would clash.

    Clashes are judged case-insensitively, for the file systems that fold case.
    """
    stems = {summary.dossier_id: safe_filename(summary.reference) for summary in dossiers}
    uses = Counter(stem.lower() for stem in stems.values())
    return {
        dossier_id: (stem if uses[stem.lower()] == 1 else f"{stem}-{dossier_id}") + ".html"
        for dossier_id, stem in stems.items()
    }


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file and a rename: never half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(0o644)
        os.replace(temporary, path)  # noqa: PTH105 - the atomic rename is the point
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _publish_building(
    session: Session, env: Environment, out_dir: Path, overview: BuildingOverview
) -> tuple[Path, int]:
    building_dir = out_dir / safe_filename(overview.slug, fallback="immeuble")
    overview = public_overview(overview)
    filenames = dossier_filenames(overview.dossiers)
    stylesheet = files("dossiermail.publish").joinpath("static", STYLESHEET).read_text("utf-8")
    write_atomically(building_dir / STYLESHEET, stylesheet)
    index_page = building_dir / "index.html"
    page = env.get_template("building.html").render(
        overview=overview, filenames=filenames, building_name=overview.name, stylesheet=STYLESHEET
    )
    write_atomically(index_page, page)
    for summary in overview.dossiers:
        timeline = public_timeline(build_timeline(session, summary.dossier_id))
        page = env.get_template("dossier.html").render(
            timeline=timeline,
            building_name=overview.name,
            stylesheet=f"../{STYLESHEET}",
            index_href="../index.html",
        )
        write_atomically(building_dir / DOSSIERS_DIR / filenames[summary.dossier_id], page)
    _remove_stale_pages(building_dir / DOSSIERS_DIR, set(filenames.values()))
    return index_page, 1 + len(overview.dossiers)


def _remove_stale_pages(dossiers_dir: Path, current: set[str]) -> None:
    """Delete dossier pages a previous export wrote for dossiers this building no longer has."""
    if not dossiers_dir.is_dir():
        return
    for page in dossiers_dir.glob("*.html"):
        if page.name not in current:
            page.unlink()
