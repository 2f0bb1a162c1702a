"""Headers of the messages a reply quotes: who wrote them, when, and under which subject.

A reply that lost In-Reply-To/References usually still quotes its parent with an attribution or a
header block. This module reads them from the text, pure functions over ``str``:

- Gmail/Apple/mutt attributions: ``Le lun. 3 nov. 2026 à 10:12, Nom <a@b> a écrit :``,
  ``On Mon, Mar 8, 2010 at 2:10 PM, Name <a@b> wrote:``, ``Name <a@b> wrote:``,
  ``On Mon, 3 Nov 2003, Linus Torvalds wrote:`` and a bare ``Linus Torvalds wrote:`` (two to four
  capitalised words, followed by ``>``-quoted lines);
- Outlook header blocks, French and English: ``De : … Envoyé : … À : … Objet : …``,
  ``From: … Sent: … To: … Subject: …`` (after ``-----Message d'origine-----`` /
  ``-----Original Message-----`` or a line of underscores), with ``>`` quoting or not.

Dates are read as written. A numeric offset (``+0100``) makes them exact (UTC); otherwise they are
the writer's local time, returned naive, and the caller must allow for the time zone.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from dossiermail.parse.subject import strip_accents

MAX_HEADERS = 3
"""Quoted headers kept per message: the first is the direct parent, the next ones older messages."""

_QUOTE = re.compile(r"^[\s>|]*")
_ATTRIBUTION = re.compile(
    r"^(?:(?:le|on)\s+(?P<when>.*?),?\s+)?(?P<who>[^,]*?)\s*(?:a\s+écrit|ont\s+écrit|écrit|wrote)\s*:$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+'-]+(?:@|\s+at\s+)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
_FIELD = re.compile(r"^\*?\s*(?P<name>[^:*]{1,20}?)\s*\*?\s*:\s*\*?\s*(?P<value>.*)$")
_FROM = {"de", "from", "von"}
_DATE = {"envoye", "sent", "date", "gesendet", "envoye le"}
_SUBJECT = {"objet", "subject", "betreff"}
_BLOCK_WINDOW = 7
NAME_KEY_LENGTH = 200
"""Longest sender-name key stored (``parsed_messages.from_name_key``)."""
QUOTED_LINES = 3
"""Quoted lines kept per header (``QuotedHeader.quoted``)."""
QUOTED_SPAN = 40
SUBSTANTIAL = 24
"""A quoted line counts once folded to this many characters (not "ok", "Hi Linus,")."""
_NAME_WORD = re.compile(r"^[^\W\d_][\w.'-]*$")

_MONTHS = {
    "jan": 1, "janv": 1, "janvier": 1, "january": 1,
    "feb": 2, "fev": 2, "fevr": 2, "fevrier": 2, "february": 2,
    "mar": 3, "mars": 3, "march": 3,
    "apr": 4, "avr": 4, "avril": 4, "april": 4,
    "may": 5, "mai": 5,
    "jun": 6, "juin": 6, "june": 6,
    "jul": 7, "juil": 7, "juillet": 7, "july": 7,
    "aug": 8, "aou": 8, "aout": 8, "august": 8,
    "sep": 9, "sept": 9, "septembre": 9, "september": 9,
    "oct": 10, "octobre": 10, "october": 10,
    "nov": 11, "novembre": 11, "november": 11,
    "dec": 12, "decembre": 12, "december": 12,
}  # fmt: skip
_ISO_DATE = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_SLASH_DATE = re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4})\b")
_DAY_MONTH = re.compile(r"\b(?P<d>\d{1,2})(?:er)?\s+(?P<mon>[a-z]{3,9})\.?,?\s+(?P<y>\d{4})\b")
_MONTH_DAY = re.compile(r"\b(?P<mon>[a-z]{3,9})\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})\b")
_TIME = re.compile(r"\b(?P<h>\d{1,2})(?::|h)(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?", re.I)
_OFFSET = re.compile(r"(?<![\d:])(?P<sign>[+-])(?P<hh>\d{2}):?(?P<mm>\d{2})\b")


@dataclass(frozen=True)
class QuotedHeader:
    """What a reply says about a message it quotes."""

    sender: str | None
    """Lower-case address, when the attribution or block carries one."""
    name: str
    date: datetime | None
    """UTC when the quote gave an offset, else naive local time of the writer."""
    subject: str | None
    line: str
    """The line the header starts on, as written (for ``explain``)."""
    quoted: tuple[str, ...] = ()
    """The first substantial lines quoted just below the header (one ``>`` deeper), folded with
    ``fold_text``: the start of the quoted message's own text."""


def fold_text(text: str) -> str:
    """Text folded for comparison: no accents, lower case, words only, single spaces."""
    return " ".join(re.sub(r"[^\w]+", " ", strip_accents(text).lower()).split())


def _depth(line: str) -> int:
    prefix = _QUOTE.match(line)
    return prefix.group(0).count(">") if prefix else 0


def quoted_body(lines: list[str], header_line: int, start: int) -> tuple[str, ...]:
    """The first ``QUOTED_LINES`` substantial lines quoted one level below ``lines[header_line]``,
    looking at most ``QUOTED_SPAN`` lines from ``start``; folded with ``fold_text``."""
    depth = _depth(lines[header_line]) + 1
    found: list[str] = []
    for line in lines[start : start + QUOTED_SPAN]:
        if line.strip() and _depth(line) < depth:
            break
        folded = fold_text(_unquoted(line)) if _depth(line) == depth else ""
        if len(folded) >= SUBSTANTIAL:
            found.append(folded)
        if len(found) == QUOTED_LINES:
            break
    return tuple(found)


def _unquoted(line: str) -> str:
    return _QUOTE.sub("", line).strip()


def _address(text: str) -> str | None:
    found = _EMAIL.search(text)
    if found is None:
        return None
    return re.sub(r"\s+at\s+", "@", found.group(0), flags=re.IGNORECASE).lower().strip(".'")


def _name(text: str) -> str:
    name = _EMAIL.sub("", text)
    name = re.sub(r"[<>\[\]\"()]|mailto:", " ", name, flags=re.IGNORECASE)
    return " ".join(name.split()).strip(" ,;*")


def _day_month_year(text: str, french: bool) -> tuple[int, int, int] | None:
    if found := _ISO_DATE.search(text):
        return int(found["y"]), int(found["m"]), int(found["d"])
    if found := _DAY_MONTH.search(text):
        month = _MONTHS.get(found["mon"].rstrip("."))
        if month:
            return int(found["y"]), month, int(found["d"])
    if found := _MONTH_DAY.search(text):
        month = _MONTHS.get(found["mon"].rstrip("."))
        if month:
            return int(found["y"]), month, int(found["d"])
    if found := _SLASH_DATE.search(text):
        first, second = int(found["a"]), int(found["b"])
        day, month = (first, second) if french or first > 12 else (second, first)
        return int(found["y"]), month, day
    return None


def _clock(text: str) -> tuple[int, int, int]:
    found = _TIME.search(text)
    if found is None:
        return 0, 0, 0
    hour, minute, second = int(found["h"]), int(found["mi"]), int(found["s"] or 0)
    ampm = (found["ampm"] or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    if ampm == "am" and hour == 12:
        hour = 0
    return hour, minute, second


def parse_quoted_date(text: str, french: bool = False) -> datetime | None:
    """A date as a mail client writes it in a quote; UTC when it carries an offset, else naive."""
    plain = strip_accents(text).lower()
    ymd = _day_month_year(plain, french)
    if ymd is None:
        return None
    try:
        when = datetime(*ymd, *_clock(plain))
    except ValueError:
        return None
    offset = _OFFSET.search(plain[plain.find(str(ymd[0])) :])
    if offset is None:
        return when
    delta = timedelta(hours=int(offset["hh"]), minutes=int(offset["mm"]))
    when -= delta if offset["sign"] == "+" else -delta
    return when.replace(tzinfo=UTC)


def name_key(name: str) -> str:
    """A display name folded for lookups: no accents, lower case, words sorted (either order).

    ``"Linus Torvalds"``, ``"TORVALDS, Linus"`` and ``"torvalds linus"`` share one key.
    """
    words = re.sub(r"[^\w\s'-]", " ", strip_accents(name).lower()).split()
    return " ".join(sorted(words))[:NAME_KEY_LENGTH]


def _person(who: str) -> bool:
    """``Linus Torvalds``: two to four capitalised words, as a name written alone before ``wrote:``."""
    words = who.split()
    return 2 <= len(words) <= 4 and all(_NAME_WORD.match(w) and w[0].isupper() for w in words)


def _quote_follows(lines: list[str], index: int) -> bool:
    """The next non-blank line after ``index`` is ``>``-quoted."""
    for line in lines[index + 1 : index + 3]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def _attribution(lines: list[str], index: int) -> tuple[QuotedHeader, int] | None:
    """An attribution on this line, or wrapped over this line and the next."""
    if not _ends_colon(lines[index]) and not (index + 1 < len(lines) and _ends_colon(lines[index + 1])):
        return None  # an attribution ends with a colon: most lines need no regex
    first = _unquoted(lines[index])
    if not first:
        return None
    candidates = [(first, 1)]
    if index + 1 < len(lines):
        candidates.append((f"{first} {_unquoted(lines[index + 1])}", 2))
    for text, used in candidates:
        found = _ATTRIBUTION.match(text)
        if found is None:
            continue
        when, who = found["when"] or "", found["who"]
        date = parse_quoted_date(when, text.lower().startswith("le ")) if when else None
        sender = _address(who) or _address(when)
        named = not when and _person(who) and _quote_follows(lines, index + used - 1)
        if date is not None or sender is not None or named:
            return QuotedHeader(sender, _name(who), date, None, first), used
    return None


def _ends_colon(line: str) -> bool:
    """The line, unquoted, ends with a colon (as every attribution does)."""
    return line.rstrip().endswith(":")


def _field(line: str) -> tuple[str, str] | None:
    if ":" not in line:
        return None  # what the regex needs, checked first: most lines are not header fields
    found = _FIELD.match(_unquoted(line))
    if found is None:
        return None
    return strip_accents(found["name"]).lower().strip(), found["value"].strip()


def _header_block(lines: list[str], index: int) -> tuple[QuotedHeader, int] | None:
    """``De : / From:`` followed within a few lines by a date and a subject or recipient field."""
    start = _field(lines[index])
    if start is None or start[0] not in _FROM or not start[1]:
        return None
    date: datetime | None = None
    subject: str | None = None
    seen = 0
    end = min(len(lines), index + 1 + _BLOCK_WINDOW)
    for offset in range(index + 1, end):
        field = _field(lines[offset])
        if field is None:
            continue
        name, value = field
        seen += 1
        if name in _DATE:
            date = parse_quoted_date(value, name.startswith("envoy"))
        elif name in _SUBJECT:
            subject = value
    if seen < 2:
        return None
    sender = start[1]
    header = QuotedHeader(_address(sender), _name(sender), date, subject, _unquoted(lines[index]))
    return header, end - index


def _next_candidate(colons: list[int], index: int) -> int:
    """The first line from ``index`` on that may start a quoted header, given the lines holding a
    colon (``colons``, ascending): an attribution ends with a colon on its line or the next, a
    header block starts with a ``From:`` field. Past the end when none may."""
    position = bisect_left(colons, index)
    if position == len(colons):
        return sys.maxsize
    return max(index, colons[position] - 1)


@lru_cache(maxsize=16)  # routing asks twice per message (collector, visibility): parse once
def quoted_headers(text: str, limit: int = MAX_HEADERS) -> tuple[QuotedHeader, ...]:
    """The quoted headers in ``text``, first (most recent message) first, at most ``limit``."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    colons = [number for number, line in enumerate(lines) if ":" in line]
    found: list[QuotedHeader] = []
    index = 0
    while len(found) < limit:
        index = _next_candidate(colons, index)
        if index >= len(lines):
            break
        match = _attribution(lines, index) or _header_block(lines, index)
        if match is None:
            index += 1
            continue
        body = quoted_body(lines, index, index + match[1])
        found.append(replace(match[0], quoted=body))
        index += match[1]
    return tuple(found)
