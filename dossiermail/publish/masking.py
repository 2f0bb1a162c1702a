"""The bridge to the redaction engine and the safe mail-HTML renderer.

Publishing masks with ``dossiermail.redact.redactor_for`` (configured by ``rules/redaction.yaml``;
``Redactor.text``, ``.version`` for the audit) and renders bodies, quoted history and signatures
with ``dossiermail.mailhtml`` (nh3-sanitized HTML, links detected in plain text, remote images
blocked, ``cid:`` images resolved). The syndic's audience gets ``IDENTITY``: nothing masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import unescape
from typing import Protocol

from markupsafe import Markup

from dossiermail.mailhtml import SafeBody, html_body, remote_note, text_body
from dossiermail.redact import redactor_for as engine_redactor
from dossiermail.rules.model import Rules

UNREDACTED = "aucun"
_TAG = re.compile(r"<[^>]*>")


class Redactor(Protocol):
    """What publishing needs of a redactor: masked text and a version for the audit."""

    @property
    def version(self) -> str: ...

    def text(self, value: str) -> str: ...

    def runs(self, values: Sequence[str]) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class _Identity:
    version: str = UNREDACTED

    def text(self, value: str) -> str:
        return value

    def runs(self, values: Sequence[str]) -> tuple[str, ...]:
        return tuple(values)


IDENTITY: Redactor = _Identity()


class CachedRedactor:
    """A redactor that remembers its answers: the audiences of a building share most texts."""

    def __init__(self, inner: Redactor) -> None:
        self._inner = inner
        self._answers: dict[str, str] = {}

    @property
    def version(self) -> str:
        """The wrapped redactor's version."""
        return self._inner.version

    def text(self, value: str) -> str:
        """``value`` masked (computed once per distinct text)."""
        answer = self._answers.get(value)
        if answer is None:
            answer = self._answers[value] = self._inner.text(value)
        return answer

    def runs(self, values: Sequence[str]) -> tuple[str, ...]:
        """Adjacent text nodes of one block, redacted together (a number split over inline tags)."""
        return self._inner.runs(values)


def redactor_for(rules: Rules) -> Redactor:
    """The redaction engine configured by ``rules/redaction.yaml`` (answers cached for one publication)."""
    return CachedRedactor(engine_redactor(rules.redaction))


@dataclass(frozen=True)
class Body:
    """A message body ready for a template: safe markup, its quoted part, blocked remote images."""

    html: Markup
    quoted_html: Markup
    remote_blocked: int = 0

    @property
    def remote_note(self) -> str:
        """« 2 images distantes bloquées », or "" when none were."""
        return remote_note(self.remote_blocked)


def _markup(body: SafeBody) -> tuple[Markup, Markup]:
    # mailhtml's SafeBody is sanitized (nh3 last) and redacted: safe to embed as is
    return Markup(body.html), Markup(body.quoted_html)  # noqa: S704


def render_body(
    text: str, html: str | None, *, redactor: Redactor, cid_url: Callable[[str], str | None]
) -> Body:
    """The body of a message: sanitized HTML when it has some, else its plain text with links.

    The HTML's text nodes are redacted block by block (``Redactor.runs``), so a value split across
    inline elements (``<span>06 12</span> 34…``) is found. As a second guard, when the visible text
    of the result still holds something the redactor would mask, the plain text is shown instead.
    """
    redact = redactor.text
    safe = (
        html_body(html, cid_url=cid_url, redact=redact, redact_runs=redactor.runs)
        if html and html.strip()
        else None
    )
    if safe is None or not (safe.html or safe.quoted_html) or _still_sensitive(safe, redact):
        safe = text_body(text, redact=redact)
    shown, quoted = _markup(safe)
    return Body(shown, quoted, safe.remote_blocked)


def visible_text(markup: str) -> str:
    """What a reader sees of some markup, elements glued together: tags dropped, entities decoded."""
    return unescape(_TAG.sub("", markup))


def _still_sensitive(safe: SafeBody, redact: Callable[[str], str]) -> bool:
    return any(redact(text) != text for text in (visible_text(safe.html), visible_text(safe.quoted_html)))


def render_text(text: str, *, redact: Callable[[str], str]) -> Markup:
    """Plain text (quoted history, signature) as safe paragraphs with links detected."""
    return _markup(text_body(text, redact=redact))[0]
