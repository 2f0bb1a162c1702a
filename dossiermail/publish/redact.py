"""Redaction at publish time: the text of a timeline as one audience may read it.

Stored mail never changes; the redactor (``dossiermail.publish.masking.redactor_for``, the engine
configured by ``rules/redaction.yaml``) is applied to every text a page or the search index shows:
dossier title, display names, subjects, body text, quoted history, signatures, attachment names.
HTML bodies are redacted while they are rendered (``masking.render_body``). The syndic's audience
gets the identity redactor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from dossiermail.timeline import Timeline, TimelineAttachment, TimelineEntry

Redact = Callable[[str], str]


def redacted_timeline(timeline: Timeline, redact: Redact) -> Timeline:
    """The timeline with every shown text passed through ``redact``."""
    return replace(
        timeline,
        title=redact(timeline.title),
        entries=tuple(_redacted_entry(entry, redact) for entry in timeline.entries),
    )


def _redacted_entry(entry: TimelineEntry, redact: Redact) -> TimelineEntry:
    return replace(
        entry,
        sender_name=redact(entry.sender_name),
        subject=redact(entry.subject),
        text=redact(entry.text),
        quoted_text=redact(entry.quoted_text),
        signature=redact(entry.signature),
        attachments=tuple(_redacted_attachment(item, redact) for item in entry.attachments),
    )


def _redacted_attachment(attachment: TimelineAttachment, redact: Redact) -> TimelineAttachment:
    return replace(attachment, filename=redact(attachment.filename))
