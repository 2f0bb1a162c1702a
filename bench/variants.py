"""Derived corpus variants: reply headers removed from some replies, French/Outlook prefixes added.

Works on the raw bytes so everything else in the message stays exactly as written. Seeded: the
same variant is the same on every run.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

THREAD_HEADERS = (b"references", b"in-reply-to")
BULK_MARKERS = (b"precedence", b"list-id", b"list-unsubscribe")
"""Mailing-list markers: renamed in every variant, else lkml is ``ignored`` as bulk mail and the
bench would measure the bulk filter instead of threading."""
PREFIXES = (b"RE : ", b"TR : ", b"=?utf-8?q?R=C3=A9f_:?= ", b"[EXT] ")
_MBOX_FROM = re.compile(rb"^From .*\r?\n")


@dataclass(frozen=True)
class Variant:
    """How to derive a corpus: share of replies losing their thread headers, and prefixes or not."""

    name: str
    drop_share: float = 0.0
    prefixes: bool = False


VARIANTS = (
    Variant("intact headers"),
    Variant("References/In-Reply-To removed from 30% of replies", drop_share=0.3),
    Variant("References/In-Reply-To removed from 100% of replies", drop_share=1.0),
    Variant("FR/Outlook prefixes (RE :, TR :, Réf :, [EXT]) on replies", prefixes=True),
    Variant("prefixes + headers removed from 100% of replies", drop_share=1.0, prefixes=True),
)


def _split(raw: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its folded continuation lines) and the rest of the message."""
    match = re.search(rb"\r?\n\r?\n", raw)
    head, rest = (raw[: match.start()], raw[match.start() :]) if match else (raw, b"")
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return fields, rest


def _name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def is_reply(raw: bytes) -> bool:
    """The message carries In-Reply-To or References."""
    fields, _ = _split(raw)
    return any(_name(f) in THREAD_HEADERS for f in fields)


def _message_id(fields: list[bytes]) -> bytes | None:
    """The Message-ID field's value, stripped, or None."""
    values = [f.partition(b":")[2].strip() for f in fields if _name(f) == b"message-id"]
    return values[0] if values else None


def _with_prefix(field: bytes, prefix: bytes) -> bytes:
    name, _, value = field.partition(b":")
    return name + b": " + prefix + value.lstrip(b" \t")


def derive(raw: bytes, reply: bool, variant: Variant, seed: int) -> bytes:
    """The message as this variant sees it (mbox ``From`` line removed, as the importer does).

    What happens to a reply is drawn from its Message-ID (and ``seed``), not from its place in the
    corpus: the copies of one message (a list's copy and the direct one) keep or lose their headers
    and get their prefix together, as they do when the sender's mail client writes them once.
    """
    fields, rest = _split(_MBOX_FROM.sub(b"", raw, count=1))
    fields = [b"X-Bench-Was-" + f if _name(f) in BULK_MARKERS else f for f in fields]
    if not reply:
        return b"".join(fields) + rest
    rng = random.Random(b"%d:%s" % (seed, _message_id(fields) or raw))
    drop = rng.random() < variant.drop_share
    prefix = rng.choice(PREFIXES)
    if drop:
        fields = [f for f in fields if _name(f) not in THREAD_HEADERS]
    if variant.prefixes:
        fields = [_with_prefix(f, prefix) if _name(f) == b"subject" else f for f in fields]
    return b"".join(fields) + rest
