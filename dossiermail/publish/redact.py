"""The foundation redaction: what a page may show of a timeline, whatever the audience.

Every email address in free text (names, subjects, bodies, quoted history, signatures, file names)
is masked. The rule-driven, per-audience redaction of the design builds on top of this.
"""

from __future__ import annotations

from dataclasses import replace

from dossiermail.publish.formatting import mask_addresses
from dossiermail.timeline import (
    BuildingOverview,
    DossierSummary,
    Timeline,
    TimelineAttachment,
    TimelineEntry,
)


def public_timeline(timeline: Timeline) -> Timeline:
    """The timeline with every email address masked."""
    return replace(
        timeline,
        title=mask_addresses(timeline.title),
        entries=tuple(_public_entry(entry) for entry in timeline.entries),
    )


def public_overview(overview: BuildingOverview) -> BuildingOverview:
    """The building overview with every email address masked from dossier titles."""
    return replace(overview, dossiers=tuple(_public_summary(d) for d in overview.dossiers))


def _public_summary(summary: DossierSummary) -> DossierSummary:
    return replace(summary, title=mask_addresses(summary.title))


def _public_entry(entry: TimelineEntry) -> TimelineEntry:
    return replace(
        entry,
        sender_name=mask_addresses(entry.sender_name),
        subject=mask_addresses(entry.subject),
        text=mask_addresses(entry.text),
        quoted_text=mask_addresses(entry.quoted_text),
        signature=mask_addresses(entry.signature),
        attachments=tuple(_public_attachment(item) for item in entry.attachments),
    )


def _public_attachment(attachment: TimelineAttachment) -> TimelineAttachment:
    return replace(attachment, filename=mask_addresses(attachment.filename))
