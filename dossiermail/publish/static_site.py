"""The static export: per building and audience, a folder of French HTML pages any server can serve.

The tree (``dossiermail.extranet`` serves exactly these files)::

    OUT/style.css
    OUT/<building>/<audience.slug>/index.html              dossiers by category, status, last activity
    OUT/<building>/<audience.slug>/dossiers/<REF>.html      timeline, 50 messages a page (<REF>-2.html…)
    OUT/<building>/<audience.slug>/pieces/<token>/<name>    attachments this audience may download
    OUT/<building>/<audience.slug>/search.jsonl             one JSON object per visible message
    OUT/.manifest.json                                      path → content hash, for incremental publish
    OUT/.publishing                                         while a publication runs (kept if it stops early)

Publishing is incremental: one aggregate query fingerprints every dossier (``dossier_heads``); only
dossiers whose fingerprint (with the rules, redactor, code and address-book versions) differs from
the manifest's, or whose files are missing, have their mail loaded and their pages rendered. The
building page and ``search.jsonl`` are rebuilt from the others' remembered cards and search lines.
Only files whose content differs from the manifest's (or that are missing) are written; files a
previous publication wrote and this one no longer produces (within the buildings/audiences
published) are removed. Each (building, audience)
published appends an audit row (``publications``). Every file is written atomically, and the whole
publication made durable at one point before the manifest is saved (``dossiermail.publish.durable``):
after a publication that stopped before its end, the next one rewrites every file in its scopes and
deletes what the manifest does not know there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from dossiermail.audience import Audience
from dossiermail.publish.audiences import AudiencePolicy, is_redacted
from dossiermail.publish.durable import (
    SiteChanges,
    covered,
    leftovers,
    site_lock,
    write_atomically,
    write_durably,
)
from dossiermail.publish.formatting import (
    file_size,
    fr_date,
    fr_datetime,
    iso_datetime,
    safe_filename,
)
from dossiermail.publish.masking import UNREDACTED, Redactor, redactor_for
from dossiermail.publish.pieces import PieceBytes
from dossiermail.publish.render import (
    INDEX_PAGE,
    SEARCH_INDEX,
    AudiencePlan,
    BuildingInfo,
    DossierPlan,
    DossierRecord,
    RenderContext,
    Reuse,
    plan_audience,
    render_audience,
)
from dossiermail.rules.model import Rules
from dossiermail.store import Store
from dossiermail.store.models import BuildingRow, ContactRow, DossierLotRow, DossierRow, PublicationRow
from dossiermail.timeline import (
    DossierHead,
    Timeline,
    TimelineLookupError,
    building_slugs,
    building_timelines,
    dossier_heads,
    role_label,
    status_label,
)

STYLESHEET = "style.css"
MANIFEST = ".manifest.json"
MANIFEST_VERSION = 2
KNOWN_STATUSES = frozenset({"ouvert", "a_qualifier", "clos"})


class PublishError(ValueError):
    """A publication that cannot be done as asked (one line naming what is wrong)."""


@dataclass(frozen=True)
class Publication:
    """What one (building, audience) publication showed and wrote; also recorded in the audit."""

    building: str
    audience: Audience
    dossiers: tuple[str, ...]
    pages_written: int
    pages_removed: int
    index_page: Path


@dataclass(frozen=True)
class PublishReport:
    """What a publication wrote, left alone and removed (paths relative to ``out_dir``)."""

    out_dir: Path
    buildings: tuple[str, ...]
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]
    publications: tuple[Publication, ...]
    rules_version: str = ""
    redactor_version: str = ""
    swept: tuple[str, ...] = ()
    """Files a publication that stopped before its end left and this one deleted (temporary files,
    pages the manifest never knew)."""

    @property
    def pages_written(self) -> int:
        """How many files were (re)written."""
        return len(self.written)

    @property
    def index_pages(self) -> tuple[Path, ...]:
        """Each published audience's building page."""
        return tuple(publication.index_page for publication in self.publications)


def publish_site(
    store_or_session: Store | Session,
    rules: Rules,
    out_dir: Path,
    *,
    buildings: Sequence[str] | None = None,
    audiences: Sequence[Audience] | None = None,
) -> PublishReport:
    """Publish ``buildings`` (all by default) for ``audiences`` (all four kinds by default) to ``out_dir``.

    Unknown buildings raise ``TimelineLookupError`` and a lot known in none of the buildings raises
    ``PublishError``, both before anything is written. Given a ``Store``, the audit rows are
    committed here; given a ``Session``, the caller commits.
    """
    if isinstance(store_or_session, Store):
        with store_or_session.session() as session:
            return _publish(session, rules, out_dir, buildings, audiences)
    return _publish(store_or_session, rules, out_dir, buildings, audiences)


def _publish(
    session: Session,
    rules: Rules,
    out_dir: Path,
    buildings: Sequence[str] | None,
    audiences: Sequence[Audience] | None,
) -> PublishReport:
    policy = AudiencePolicy.from_rules(rules)
    slugs = _checked_buildings(session, buildings)
    chosen = _checked_audiences(session, policy, slugs, audiences)
    redactor = redactor_for(rules)
    with site_lock(out_dir):
        writer = SiteWriter.open(out_dir, _scopes(slugs, buildings, audiences))
        drafts = _write_site(session, rules, policy, redactor, writer, slugs, chosen)
        removed = writer.remove_stale()
        swept = writer.sweep()
        writer.save()
    publications = tuple(
        Publication(
            slug,
            audience,
            dossiers,
            written,
            sum(1 for path in removed if path.startswith(_prefix(slug, audience))),
            out_dir / _prefix(slug, audience) / INDEX_PAGE,
        )
        for slug, audience, dossiers, written in drafts
    )
    _audit(session, publications, rules.version, redactor.version)
    return PublishReport(
        out_dir,
        slugs,
        tuple(writer.written),
        writer.unchanged,
        removed,
        publications,
        rules.version,
        redactor.version,
        swept,
    )


def _write_site(
    session: Session,
    rules: Rules,
    policy: AudiencePolicy,
    redactor: Redactor,
    writer: SiteWriter,
    slugs: Sequence[str],
    chosen: Mapping[str, tuple[Audience, ...]] | None,
) -> list[tuple[str, Audience, tuple[str, ...], int]]:
    """Render and write every asked audience of ``slugs``: per audience, its dossiers and files written."""
    pieces = PieceBytes(session, writer.manifest.checked)
    env = template_environment()
    previous = Reuse(writer.manifest.dossiers, writer.still_there, writer.out_dir, writer.trusted_files())
    common = f"{code_fingerprint()} {rules.version} {redactor.version} {contacts_fingerprint(session)}"
    writer.text(STYLESHEET, files("dossiermail.publish").joinpath("static", STYLESHEET).read_text("utf-8"))
    drafts: list[tuple[str, Audience, tuple[str, ...], int]] = []
    for slug in slugs:
        building = session.scalars(select(BuildingRow).where(BuildingRow.slug == slug)).one()
        info = BuildingInfo(building.slug, building.name, building.address)
        fingerprint = f"{common} {info!r}"
        ctx = RenderContext(env, policy, redactor, info, pieces, fingerprint=fingerprint, previous=previous)
        heads = dossier_heads(session, slug)
        plans, timelines = _dossier_plans(session, ctx, heads, writer.manifest.sources)
        writer.sources(slug, {plan.head.dossier_id: SourceRecord(plan.source, plan.lots) for plan in plans})
        asked = chosen[slug] if chosen is not None else policy.audiences(slug, heads)
        audience_plans = [plan_audience(ctx, audience, _prefix(slug, audience), plans) for audience in asked]
        needed = set().union(*(plan.needs for plan in audience_plans)) - set(timelines)
        if needed:
            timelines.update((t.dossier_id, t) for t in building_timelines(session, slug, needed))
        for plan in audience_plans:
            drafts.append((slug, plan.audience, *_publish_audience(writer, ctx, plan, timelines)))
    writer.manifest.checked = pieces.checked
    return drafts


def _dossier_plans(
    session: Session, ctx: RenderContext, heads: Sequence[DossierHead], known: Mapping[str, SourceRecord]
) -> tuple[list[DossierPlan], dict[int, Timeline]]:
    """Each dossier's plan; the timelines of those whose source changed since the last publication.

    A dossier's lots may come from its mail (its co-owner participants): for an unchanged dossier
    the manifest remembers them, for a changed one its timeline is loaded here to find them.
    """
    sources = {
        head.dossier_id: hashlib.sha256(f"{ctx.fingerprint}\n{head.source}".encode()).hexdigest()[:32]
        for head in heads
    }
    slug = ctx.building.slug
    changed = [
        head.dossier_id
        for head in heads
        if (found := known.get(f"{slug}/{head.dossier_id}")) is None
        or found.digest != sources[head.dossier_id]
    ]
    timelines = {t.dossier_id: t for t in building_timelines(session, slug, changed)} if changed else {}
    plans = [
        DossierPlan(
            head,
            sources[head.dossier_id],
            ctx.policy.lots(timelines[head.dossier_id])
            if head.dossier_id in timelines
            else frozenset(known[f"{slug}/{head.dossier_id}"].lots),
        )
        for head in heads
    ]
    return plans, timelines


def _publish_audience(
    writer: SiteWriter, ctx: RenderContext, plan: AudiencePlan, timelines: Mapping[int, Timeline]
) -> tuple[tuple[str, ...], int]:
    site = render_audience(ctx, plan, timelines)
    prefix = plan.prefix
    before = len(writer.written)
    for path in site.kept:
        writer.keep(prefix + path)
    writer.records(prefix, {prefix + ref: record for ref, record in site.records.items()})
    for path, content in site.files.items():
        writer.text(prefix + path, content)
    writer.data(prefix + SEARCH_INDEX, site.search)
    for path, (message_key, position) in site.pieces.items():
        source = f"piece:{message_key}:{position}"
        writer.piece(prefix + path, source, partial(ctx.pieces.data, message_key, position))
    return tuple(site.dossiers), len(writer.written) - before


def contacts_fingerprint(session: Session) -> str:
    """A hash of the address book in the store (senders' names and roles shown on every page)."""
    digest = hashlib.sha256()
    for email, name, role in session.execute(
        select(ContactRow.email, ContactRow.name, ContactRow.role).order_by(ContactRow.id)
    ):
        digest.update(f"{email}\0{name}\0{role}\n".encode())
    return digest.hexdigest()[:16]


def _prefix(building: str, audience: Audience) -> str:
    return f"{safe_filename(building, fallback='immeuble')}/{audience.slug}/"


def _scopes(
    slugs: Sequence[str], buildings: Sequence[str] | None, audiences: Sequence[Audience] | None
) -> tuple[str, ...]:
    """The path prefixes this publication is responsible for (stale files there are removed)."""
    if audiences is not None:
        return tuple(_prefix(slug, audience) for slug in slugs for audience in audiences)
    if buildings is not None:
        return tuple(f"{safe_filename(slug, fallback='immeuble')}/" for slug in slugs)
    return ("",)


def _checked_buildings(session: Session, buildings: Sequence[str] | None) -> tuple[str, ...]:
    known = building_slugs(session)
    if buildings is None:
        return tuple(known)
    unknown = [slug for slug in buildings if slug not in known]
    if unknown:
        raise TimelineLookupError(f"unknown building {unknown[0]!r}")
    return tuple(dict.fromkeys(buildings))


def _checked_audiences(
    session: Session, policy: AudiencePolicy, slugs: Sequence[str], audiences: Sequence[Audience] | None
) -> dict[str, tuple[Audience, ...]] | None:
    """Per building, the asked audiences it has (a lot only where it is known); None = defaults."""
    if audiences is None:
        return None
    chosen: dict[str, tuple[Audience, ...]] = {}
    for slug in slugs:
        lots = set(policy.building_lots(slug, ())) | set(_admin_lots(session, slug))
        chosen[slug] = tuple(a for a in dict.fromkeys(audiences) if a.lot is None or a.lot in lots)
    for audience in audiences:
        if audience.lot is not None and not any(audience in found for found in chosen.values()):
            raise PublishError(
                f"lot {audience.lot} is not known in {', '.join(slugs) or 'any building'}: "
                "give it to a co-owner in contacts.yaml or to a dossier with 'dossier lots'"
            )
    return chosen


def _admin_lots(session: Session, slug: str) -> list[int]:
    return list(
        session.scalars(
            select(DossierLotRow.lot)
            .join(DossierRow, DossierRow.id == DossierLotRow.dossier_id)
            .join(BuildingRow, BuildingRow.id == DossierRow.building_id)
            .where(BuildingRow.slug == slug)
            .distinct()
        )
    )


def _audit(session: Session, publications: Sequence[Publication], rules_version: str, redactor: str) -> None:
    for publication in publications:
        session.add(
            PublicationRow(
                building=publication.building,
                audience=publication.audience.name,
                dossiers=list(publication.dossiers),
                rules_version=rules_version,
                redactor_version=redactor if is_redacted(publication.audience) else UNREDACTED,
                pages_written=publication.pages_written,
                pages_removed=publication.pages_removed,
            )
        )
    session.flush()


@dataclass(frozen=True)
class SourceRecord:
    """A dossier as the last publication saw it: the digest of its source (row, decisions,
    corrections, lots, and every version that shapes pages) and the lots it concerned."""

    digest: str
    lots: frozenset[int]


@dataclass
class Manifest:
    """``OUT/.manifest.json``: every file a publication wrote (path → content hash), the pieces
    already judged (token → publishable), and what each dossier's pages were made from."""

    files: dict[str, str] = field(default_factory=dict)
    checked: dict[str, bool] = field(default_factory=dict)
    dossiers: dict[str, DossierRecord] = field(default_factory=dict)
    """``<building>/<audience>/<REF>`` → what its pages were made from and which files they are."""
    sources: dict[str, SourceRecord] = field(default_factory=dict)
    """``<building>/<dossier id>`` → its source digest and lots, checked before loading any mail."""

    @classmethod
    def load(cls, out_dir: Path) -> Manifest:
        """The manifest of the previous publication; an empty one when there is none or it is unreadable."""
        try:
            data = json.loads((out_dir / MANIFEST).read_text("utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            return cls()
        try:
            return cls(
                {str(k): str(v) for k, v in data["files"].items()},
                {str(k): bool(v) for k, v in data["checked"].items()},
                {str(k): _record(v) for k, v in data["dossiers"].items()},
                {
                    str(k): SourceRecord(str(v["digest"]), frozenset(int(lot) for lot in v["lots"]))
                    for k, v in data["sources"].items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return cls()

    def dump(self) -> str:
        """The manifest as stable JSON."""
        data = {
            "version": MANIFEST_VERSION,
            "files": self.files,
            "checked": self.checked,
            "dossiers": {k: _record_json(v) for k, v in self.dossiers.items()},
            "sources": {k: {"digest": v.digest, "lots": sorted(v.lots)} for k, v in self.sources.items()},
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def _record_json(record: DossierRecord) -> dict[str, object]:
    return {
        "digest": record.digest,
        "files": record.files,
        "title": record.title,
        "message_count": record.message_count,
        "last_activity": record.last_activity,
        "search": record.search,
    }


def _record(data: Any) -> DossierRecord:
    """A dossier record read back from JSON (a malformed one raises; the caller starts afresh)."""
    start, end = data["search"]
    last = data["last_activity"]
    return DossierRecord(
        digest=str(data["digest"]),
        files=tuple(map(str, data["files"])),
        title=str(data["title"]),
        message_count=int(data["message_count"]),
        last_activity=None if last is None else str(last),
        search=(int(start), int(end)),
    )


class SiteWriter:
    """Writes the files whose content changed, remembers what it produced, removes what is stale.

    Files an unfinished publication may have touched (``SiteChanges.distrusts``) are never taken as
    they are: they are written again, and not reused.
    """

    def __init__(self, out_dir: Path, manifest: Manifest, changes: SiteChanges) -> None:
        self.out_dir = out_dir
        self.manifest = manifest
        self.changes = changes
        self.produced: dict[str, str] = {}
        self.written: list[str] = []
        self.unchanged = 0
        self._records: dict[str, DossierRecord] = {}
        self._published: list[str] = []

    @classmethod
    def open(cls, out_dir: Path, scopes: Sequence[str]) -> SiteWriter:
        """The writer of a publication of ``scopes`` (path prefixes) into ``out_dir`` (locked)."""
        return cls(out_dir, Manifest.load(out_dir), SiteChanges.open(out_dir, scopes))

    def still_there(self, path: str) -> bool:
        """Whether the last publication wrote ``path``, it is still on disk, and can be trusted."""
        return (
            path in self.manifest.files
            and not self.changes.distrusts(path)
            and (self.out_dir / path).is_file()
        )

    def trusted_files(self) -> dict[str, str]:
        """The manifest's file hashes, but for the files an unfinished publication may have touched."""
        distrusts = self.changes.distrusts
        return {path: digest for path, digest in self.manifest.files.items() if not distrusts(path)}

    def keep(self, path: str) -> None:
        """Leave a file of the last publication as it is (it counts as produced, unchanged)."""
        self.produced[path] = self.manifest.files[path]
        self.unchanged += 1

    def records(self, prefix: str, records: dict[str, DossierRecord]) -> None:
        """The dossier records of one published audience (they replace the previous ones)."""
        self._published.append(prefix)
        self._records.update(records)

    def sources(self, building: str, records: Mapping[int, SourceRecord]) -> None:
        """The source records of every dossier of a published building (they replace its previous ones)."""
        prefix = f"{building}/"
        kept = {k: v for k, v in self.manifest.sources.items() if not k.startswith(prefix)}
        kept.update((f"{prefix}{dossier_id}", record) for dossier_id, record in records.items())
        self.manifest.sources = kept

    def text(self, path: str, content: str) -> None:
        """Write a text file unless the last publication wrote the same content there."""
        self.data(path, content.encode("utf-8"))

    def data(self, path: str, content: bytes) -> None:
        """Write a file unless the last publication wrote the same content there."""
        if self._fresh(path, hashlib.sha256(content).hexdigest()):
            self._write(path, content)

    def piece(self, path: str, source: str, data: Callable[[], bytes]) -> None:
        """Copy a piece (``data()`` gives its bytes) unless it is already there."""
        if self._fresh(path, source):
            self._write(path, data())

    def _fresh(self, path: str, digest: str) -> bool:
        self.produced[path] = digest
        if self.manifest.files.get(path) == digest and self.still_there(path):
            self.unchanged += 1
            return False
        return True

    def _write(self, path: str, content: bytes) -> None:
        self.changes.begin()
        write_atomically(self.out_dir / path, content)
        self.changes.written.append(self.out_dir / path)
        self.written.append(path)

    def _remove(self, path: str) -> None:
        self.changes.begin()
        target = self.out_dir / path
        target.unlink(missing_ok=True)
        _prune_empty_parents(target.parent, self.out_dir)
        self.changes.removed.append(target)

    def remove_stale(self) -> tuple[str, ...]:
        """Delete the files of the last publication, within its scopes, that this one did not produce."""
        removed: list[str] = []
        kept: dict[str, str] = {}
        for path, digest in self.manifest.files.items():
            if path in self.produced or not covered(path, self.changes.scopes):
                kept[path] = digest
                continue
            self._remove(path)
            removed.append(path)
        kept.update(self.produced)
        self.manifest.files = kept
        published = tuple(self._published)
        self.manifest.dossiers = {
            key: record
            for key, record in self.manifest.dossiers.items()
            if not key.startswith(published) and key.startswith(tuple(kept_prefixes(kept)))
        }
        self.manifest.dossiers.update(self._records)
        return tuple(sorted(removed))

    def sweep(self) -> tuple[str, ...]:
        """After an unfinished publication (and ``remove_stale``): delete, in its scopes, the files
        the manifest does not list (pages it wrote that nothing produces now, temporary files)."""
        if not self.changes.interrupted:
            return ()
        known = self.manifest.files.keys() | {MANIFEST}
        found = leftovers(self.out_dir, self.changes.interrupted, known.__contains__)
        for path in found:
            self._remove(path)
        return tuple(found)

    def save(self) -> None:
        """Make the publication durable, then write the manifest (synced: a crash before it leaves the
        previous one, and the marker), then drop the marker."""
        self.changes.flush()
        write_durably(self.out_dir / MANIFEST, self.manifest.dump())
        self.changes.finish()


def kept_prefixes(files: dict[str, str]) -> set[str]:
    """The ``<building>/<audience>/`` folders that still hold files."""
    return {"/".join(path.split("/")[:2]) + "/" for path in files if path.count("/") >= 2}


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the code and templates that shape pages: any change re-renders every dossier."""
    digest = hashlib.sha256()
    for package in ("dossiermail.publish", "dossiermail.mailhtml", "dossiermail.redact"):
        folder = Path(str(files(package)))
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in {".py", ".html", ".css"}:
                digest.update(path.relative_to(folder).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _prune_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_relative_to(root) and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    """The jinja2 environment: package templates, autoescaping on, French filters.

    One per process: templates are compiled once, not at every publication.
    """
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
