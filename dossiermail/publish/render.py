"""The pages of one building for one audience, rendered in memory: HTML pages, pieces, search index.

Nothing here writes files: ``render_audience`` returns an ``AudienceSite`` (relative path → content)
that ``dossiermail.publish.static_site`` compares with the previous publication and writes.
Every path is relative to ``OUT/<building>/<audience.slug>/``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from jinja2 import Environment
from markupsafe import Markup

from dossiermail.audience import Audience
from dossiermail.publish.audiences import AudiencePolicy, is_redacted, sees_message
from dossiermail.publish.formatting import safe_filename
from dossiermail.publish.masking import IDENTITY, Body, Redactor, render_body, render_text
from dossiermail.publish.pieces import (
    PieceBytes,
    PieceSource,
    piece_filename,
    piece_token,
    piece_type,
)
from dossiermail.publish.redact import redacted_timeline
from dossiermail.rules.model import DOSSIER_CATEGORIES
from dossiermail.timeline import DossierHead, Timeline, TimelineAttachment, TimelineEntry

PAGE_SIZE = 50
"""Messages per dossier page; longer dossiers continue on ``<REF>-2.html``, ``<REF>-3.html``…"""
DOSSIERS_DIR = "dossiers"
PIECES_DIR = "pieces"
SEARCH_INDEX = "search.jsonl"
INDEX_PAGE = "index.html"
AUDIENCE_LABELS = {
    "syndic": "Syndic",
    "conseil_syndical": "Conseil syndical",
    "coproprietaires": "Copropriétaires",
}
_PAGE_SUFFIX = re.compile(r"(?P<stem>.+)-\d+")


def audience_label(audience: Audience) -> str:
    """« Syndic », « Conseil syndical », « Copropriétaires », « Lot 12 »."""
    return f"Lot {audience.lot}" if audience.lot is not None else AUDIENCE_LABELS[audience.kind]


@dataclass(frozen=True)
class BuildingInfo:
    """The building a site is about."""

    slug: str
    name: str
    address: str


@dataclass(frozen=True)
class RenderContext:
    """What every audience of a building shares while rendering."""

    env: Environment
    policy: AudiencePolicy
    redactor: Redactor
    building: BuildingInfo
    pieces: PieceBytes
    stylesheet: str = "style.css"
    bodies: dict[tuple[str, bool], tuple[Body, Markup, Markup]] = field(default_factory=dict)
    """Rendered (body, quoted, signature) per (message, redacted): redacted audiences share them."""
    fingerprint: str = ""
    """Everything but the dossier that shapes its pages: code, rules and redactor versions, building."""
    previous: Reuse | None = None
    """What the last publication wrote, to skip dossiers whose pages cannot have changed."""


@dataclass(frozen=True)
class DossierRecord:
    """What a dossier's pages were made from (``digest``), the files they are (under the audience), and
    what the building page and search index need to list it again without reading its mail."""

    digest: str
    files: tuple[str, ...]
    title: str = ""
    message_count: int = 0
    last_activity: str | None = None
    search: tuple[int, int] = (0, 0)
    """Where its lines are in the audience's ``search.jsonl`` (byte offsets)."""


@dataclass(frozen=True)
class Reuse:
    """The last publication: its dossier records, file hashes, and whether a file is still there."""

    records: Mapping[str, DossierRecord]
    still_there: Callable[[str], bool]
    out_dir: Path
    hashes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DossierPlan:
    """A dossier before rendering: its row, a digest of what its pages are made from, its lots, and
    its timeline when it had to be loaded."""

    head: DossierHead
    source: str
    lots: frozenset[int]
    timeline: Timeline | None = None


@dataclass(frozen=True)
class AudiencePlan:
    """What one audience shows and which of its dossiers can be left as the last publication wrote them."""

    audience: Audience
    prefix: str
    visible: tuple[DossierPlan, ...]
    stems: dict[int, str]
    digests: dict[int, str]
    reused: dict[int, DossierRecord]
    previous_search: bytes

    @property
    def needs(self) -> set[int]:
        """The dossiers that must be rendered (their timelines loaded)."""
        return {plan.head.dossier_id for plan in self.visible} - set(self.reused)


@dataclass
class AudienceSite:
    """One audience's files: rendered text files and pieces to copy from raw messages."""

    audience: Audience
    dossiers: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    pieces: dict[str, PieceSource] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    """Files of unchanged dossiers, left as the last publication wrote them."""
    search: bytes = b""
    """``search.jsonl``: unchanged dossiers' lines copied from the last one, the others' rendered."""
    records: dict[str, DossierRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class PieceView:
    """An attachment line: name, size, and the link when it is published."""

    name: str
    size: int
    href: str | None


@dataclass(frozen=True)
class MessageView:
    """One message as the audience reads it."""

    anchor: str
    entry: TimelineEntry
    body: Body
    quoted: Markup
    signature: Markup
    pieces: tuple[PieceView, ...]


@dataclass(frozen=True)
class DossierCard:
    """One dossier on the building page, for this audience."""

    reference: str
    title: str
    status: str
    category: str
    last_activity: datetime | None
    message_count: int
    href: str


def plan_audience(
    ctx: RenderContext, audience: Audience, prefix: str, plans: Sequence[DossierPlan]
) -> AudiencePlan:
    """Which dossiers ``audience`` sees, and which of them are unchanged since the last publication."""
    visible = tuple(plan for plan in plans if ctx.policy.sees(audience, plan.head, _lots_of(plan)))
    stems = dossier_stems(plan.head for plan in visible)
    digests = {
        plan.head.dossier_id: _digest(ctx, audience, plan, stems[plan.head.dossier_id]) for plan in visible
    }
    previous_search = _previous_search(ctx.previous, prefix)
    reused: dict[int, DossierRecord] = {}
    if ctx.previous is not None and previous_search is not None:
        for plan in visible:
            record = ctx.previous.records.get(prefix + plan.head.reference)
            if record is None or record.digest != digests[plan.head.dossier_id]:
                continue
            if all(ctx.previous.still_there(prefix + path) for path in record.files):
                reused[plan.head.dossier_id] = record
    return AudiencePlan(audience, prefix, visible, stems, digests, reused, previous_search or b"")


def _lots_of(plan: DossierPlan) -> Callable[[], frozenset[int]]:
    return lambda: plan.lots


def render_audience(
    ctx: RenderContext, plan: AudiencePlan, timelines: Mapping[int, Timeline]
) -> AudienceSite:
    """Every file of the audience for this building: index, dossier pages, pieces, search index.

    Dossiers ``plan`` reuses keep their files and search lines; the others are rendered from
    ``timelines`` (which must hold them).
    """
    audience = plan.audience
    site = AudienceSite(audience)
    redactor = ctx.redactor if is_redacted(audience) else IDENTITY
    cards: list[DossierCard] = []
    search: list[bytes] = []
    offset = 0
    for dossier in plan.visible:
        head, stem = dossier.head, plan.stems[dossier.head.dossier_id]
        site.dossiers.append(head.reference)
        record = plan.reused.get(head.dossier_id)
        if record is not None:
            site.kept.extend(record.files)
            lines = plan.previous_search[record.search[0] : record.search[1]]
        else:
            record, lines = _render_new(ctx, site, audience, timelines[head.dossier_id], stem, redactor)
        record = replace(record, digest=plan.digests[head.dossier_id], search=(offset, offset + len(lines)))
        site.records[head.reference] = record
        search.append(lines)
        offset += len(lines)
        cards.append(_card(ctx, head, record, stem))
    site.files[INDEX_PAGE] = ctx.env.get_template("building.html").render(
        building=ctx.building,
        audience_label=audience_label(audience),
        redacted=is_redacted(audience),
        groups=_grouped(cards),
        stylesheet=f"../../{ctx.stylesheet}",
    )
    site.search = b"".join(search)
    return site


def _render_new(
    ctx: RenderContext,
    site: AudienceSite,
    audience: Audience,
    timeline: Timeline,
    stem: str,
    redactor: Redactor,
) -> tuple[DossierRecord, bytes]:
    """Render one dossier's pages into ``site``: its record (digest left empty) and search lines."""
    view = _audience_view(timeline, audience)
    before = {*site.files, *site.pieces}
    shown = redacted_timeline(view, redactor.text) if is_redacted(audience) else view
    lines = "".join(
        line + "\n" for line in _render_dossier(ctx, site, audience, shown, stem, redactor)
    ).encode()
    last = view.last_activity
    record = DossierRecord(
        digest="",
        files=tuple(sorted({*site.files, *site.pieces} - before)),
        title=redactor.text(view.title),
        message_count=view.message_count,
        last_activity=last.isoformat() if last is not None else None,
    )
    return record, lines


def _audience_view(timeline: Timeline, audience: Audience) -> Timeline:
    return replace(
        timeline, entries=tuple(entry for entry in timeline.entries if sees_message(audience, entry))
    )


def _digest(ctx: RenderContext, audience: Audience, plan: DossierPlan, stem: str) -> str:
    """A hash of everything a dossier's pages are made from for this audience."""
    category = ctx.policy.category(plan.head.reference, plan.head.category)
    source = f"{plan.source}\n{audience.name}\n{stem}\n{category}"
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def _previous_search(previous: Reuse | None, prefix: str) -> bytes | None:
    """The audience's last ``search.jsonl``, if it is there as the last publication wrote it."""
    if previous is None or prefix + SEARCH_INDEX not in previous.hashes:
        return None
    try:
        content = (previous.out_dir / prefix / SEARCH_INDEX).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(content).hexdigest() != previous.hashes[prefix + SEARCH_INDEX]:
        return None
    return content


def dossier_stems(timelines: Iterable[Timeline | DossierHead]) -> dict[int, str]:
    """Each dossier's page stem: its reference made safe, with its id when two would clash.

    Clashes are judged case-insensitively (file systems that fold case), and a stem that looks
    like another's continuation page (``X-2`` beside ``X``) counts as a clash too.
    """
    stems = {timeline.dossier_id: safe_filename(timeline.reference) for timeline in timelines}
    uses = Counter(stem.lower() for stem in stems.values())
    taken = set(uses)

    def clashes(stem: str) -> bool:
        page = _PAGE_SUFFIX.fullmatch(stem)
        return uses[stem.lower()] > 1 or (page is not None and page["stem"].lower() in taken)

    return {
        dossier_id: f"{stem}-{dossier_id}" if clashes(stem) else stem for dossier_id, stem in stems.items()
    }


def page_name(stem: str, number: int) -> str:
    """``<stem>.html`` for the first page, ``<stem>-<n>.html`` after."""
    return f"{stem}.html" if number == 1 else f"{stem}-{number}.html"


def _card(ctx: RenderContext, head: DossierHead, record: DossierRecord, stem: str) -> DossierCard:
    last = record.last_activity
    return DossierCard(
        reference=head.reference,
        title=record.title,
        status=head.status,
        category=ctx.policy.category(head.reference, head.category),
        last_activity=datetime.fromisoformat(last) if last is not None else None,
        message_count=record.message_count,
        href=f"{DOSSIERS_DIR}/{page_name(stem, 1)}",
    )


def _grouped(cards: list[DossierCard]) -> list[tuple[str, list[DossierCard]]]:
    """Cards by category in the syndics' order; in each, latest activity first, then reference."""
    cards = sorted(cards, key=lambda card: card.reference)
    cards.sort(key=lambda card: (card.last_activity is None, -(card.last_activity or _EPOCH).timestamp()))
    return [
        (c, [card for card in cards if card.category == c])
        for c in DOSSIER_CATEGORIES
        if any(card.category == c for card in cards)
    ]


_EPOCH = datetime.fromtimestamp(0).astimezone()


def _render_dossier(
    ctx: RenderContext,
    site: AudienceSite,
    audience: Audience,
    timeline: Timeline,
    stem: str,
    redactor: Redactor,
) -> list[str]:
    messages = [_message(ctx, site, entry, redactor) for entry in timeline.entries]
    chunks = [messages[i : i + PAGE_SIZE] for i in range(0, len(messages), PAGE_SIZE)] or [[]]
    search: list[str] = []
    for number, chunk in enumerate(chunks, start=1):
        name = page_name(stem, number)
        site.files[f"{DOSSIERS_DIR}/{name}"] = ctx.env.get_template("dossier.html").render(
            timeline=timeline,
            category=ctx.policy.category(timeline.reference, timeline.category),
            messages=chunk,
            page=number,
            page_count=len(chunks),
            previous_href=page_name(stem, number - 1) if number > 1 else None,
            next_href=page_name(stem, number + 1) if number < len(chunks) else None,
            building=ctx.building,
            audience_label=audience_label(audience),
            redacted=is_redacted(audience),
            stylesheet=f"../../../{ctx.stylesheet}",
            index_href=f"../{INDEX_PAGE}",
        )
        search.extend(_search_line(timeline, message, f"{DOSSIERS_DIR}/{name}") for message in chunk)
    return search


def _message(ctx: RenderContext, site: AudienceSite, entry: TimelineEntry, redactor: Redactor) -> MessageView:
    pieces = tuple(_piece(ctx, site, entry, attachment) for attachment in entry.attachments)
    by_cid = {
        _cid(a.content_id): piece.href
        for a, piece in zip(entry.attachments, pieces, strict=True)
        if a.content_id and piece.href
    }

    def cid_url(content_id: str) -> str | None:
        return by_cid.get(_cid(content_id))

    key = (entry.message_key, redactor is not IDENTITY)
    if key not in ctx.bodies:
        body = render_body(entry.text, entry.html, redactor=redactor, cid_url=cid_url)
        quoted = body.quoted_html or render_text(entry.quoted_text, redact=redactor.text)
        ctx.bodies[key] = (body, quoted, render_text(entry.signature, redact=redactor.text))
    body, quoted, signature = ctx.bodies[key]
    return MessageView(f"m-{entry.message_key[:16]}", entry, body, quoted, signature, pieces)


def _cid(content_id: str) -> str:
    return content_id.strip().strip("<>").removeprefix("cid:").lower()


def _piece(
    ctx: RenderContext, site: AudienceSite, entry: TimelineEntry, item: TimelineAttachment
) -> PieceView:
    kind = piece_type(item.filename, item.content_type)
    if kind is None or not ctx.pieces.publishable(entry.message_key, item.position, kind):
        return PieceView(item.filename, item.size, None)
    path = (
        f"{PIECES_DIR}/{piece_token(entry.message_key, item.position)}/{piece_filename(item.filename, kind)}"
    )
    site.pieces[path] = (entry.message_key, item.position)
    return PieceView(item.filename, item.size, f"../{path}")


def _search_line(timeline: Timeline, message: MessageView, page: str) -> str:
    entry = message.entry
    record = {
        "dossier": timeline.reference,
        "title": entry.subject or "(sans objet)",
        "date": entry.when.isoformat() if entry.when else None,
        "url": f"{page}#{message.anchor}",
        "text": f"{entry.subject}\n{entry.text}".strip(),
    }
    return json.dumps(record, ensure_ascii=False, sort_keys=True)
