"""Recognise mail that no person wrote: auto-replies, out-of-office, bounces (DSN) and bulk mail.

``auto_reply_reason`` returns a short reason (shown by ``dossiermail explain``) or None. Each check
is a small function; they run in order of reliability and the first hit wins.
``X-Auto-Response-Suppress`` alone proves nothing (Outlook sets it on ordinary mail); it only counts
together with an out-of-office subject.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from dossiermail.parse.subject import strip_accents

BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
DSN_CONTENT_TYPES = frozenset({"multipart/report", "message/delivery-status"})
DSN_SENDERS = ("mailer-daemon", "postmaster")

# Subjects Outlook, Exchange, Gmail and webmails put on out-of-office replies (accents stripped).
_OOF_PHRASES = (
    r"reponse automatique",
    r"absence du bureau",
    r"absent du bureau",
    r"message d['’ ]absence",
    r"out of (?:the )?office",
    r"automatic reply",
    r"auto-?reply",
    r"autoreply",
)
_OOF_SUBJECT = re.compile(r"^\s*(?:\[[^\]]*\]\s*)*(?:" + "|".join(_OOF_PHRASES) + r")\b")
_OOF_ANYWHERE = re.compile(r"(?:" + "|".join(_OOF_PHRASES) + r"|\babsent\b|\babsence\b|conges)")


@dataclass(frozen=True)
class AutoReplyClues:
    """What the detector looks at: decoded header values, subject, MIME types, sender address."""

    headers: Mapping[str, str]
    subject: str
    content_types: Collection[str]
    sender: str


def _auto_submitted(clues: AutoReplyClues) -> str | None:
    value = clues.headers.get("auto-submitted", "").strip()
    if value and value.split(";")[0].strip().lower() != "no":
        return f"Auto-Submitted: {value}"
    return None


def _autoreply_headers(clues: AutoReplyClues) -> str | None:
    for name, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        if name in clues.headers:
            return f"{label}: {clues.headers[name].strip()}".rstrip(": ")
    return None


def _precedence(clues: AutoReplyClues) -> str | None:
    value = clues.headers.get("precedence", "").strip().lower()
    return f"Precedence: {value}" if value in BULK_PRECEDENCE else None


def _delivery_status(clues: AutoReplyClues) -> str | None:
    found = DSN_CONTENT_TYPES.intersection(clues.content_types)
    if found:
        return f"delivery status notification ({sorted(found)[0]})"
    local_part = clues.sender.partition("@")[0]
    if local_part in DSN_SENDERS:
        return f"delivery status notification (sender {clues.sender})"
    return None


def _bulk(clues: AutoReplyClues) -> str | None:
    for name, label in (("list-id", "List-Id"), ("list-unsubscribe", "List-Unsubscribe")):
        if name in clues.headers:
            return f"bulk mail ({label})"
    return None


def _out_of_office_subject(clues: AutoReplyClues) -> str | None:
    subject = strip_accents(clues.subject).lower()
    if _OOF_SUBJECT.match(subject):
        return f"out-of-office subject: {clues.subject[:80]}"
    if "x-auto-response-suppress" in clues.headers and _OOF_ANYWHERE.search(subject):
        return f"out-of-office subject with X-Auto-Response-Suppress: {clues.subject[:80]}"
    return None


CHECKS: tuple[Callable[[AutoReplyClues], str | None], ...] = (
    _auto_submitted,
    _autoreply_headers,
    _delivery_status,
    _precedence,
    _out_of_office_subject,
    _bulk,
)


def auto_reply_reason(clues: AutoReplyClues) -> str | None:
    """The first reason this message was sent by a machine, or None for a person's mail."""
    for check in CHECKS:
        reason = check(clues)
        if reason:
            return reason
    return None
