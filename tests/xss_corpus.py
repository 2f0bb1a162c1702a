"""The XSS payload corpus: ``tests/data/xss/payloads.txt`` plus a few generated combinations.

Every payload sets ``window.__xss`` when it runs (see ``tests/data/xss/README.md``). The file holds
the hand-picked payloads by category; ``generated()`` adds the cross product of event handlers and
tags and of control characters hidden inside ``javascript:`` URLs, which a file cannot show well.
"""

from __future__ import annotations

from pathlib import Path

PAYLOAD_FILE = Path(__file__).parent / "data" / "xss" / "payloads.txt"
MARKER = "__xss"

EVENT_HANDLERS = (
    "onerror", "onload", "onfocus", "onmouseover", "onclick", "onanimationstart", "onbegin",
    "ontoggle", "onpointerenter", "onauxclick", "onbeforetoggle", "oncontentvisibilityautostatechange",
)  # fmt: skip
HANDLER_TAGS = (
    '<img src="x" {handler}="window.__xss=1">',
    '<svg {handler}="window.__xss=1"></svg>',
    '<body {handler}="window.__xss=1">',
    '<div tabindex="0" autofocus {handler}="window.__xss=1">x</div>',
    '<a href="https://example.org/" {handler}="window.__xss=1">x</a>',
    '<details open {handler}="window.__xss=1"><summary>x</summary></details>',
    '<video src="x" {handler}="window.__xss=1"></video>',
    '<p style="content-visibility:auto" {handler}="window.__xss=1">x</p>',
)
HIDDEN_CHARACTERS = ("\t", "\n", "\r", "\x00", "\x01", "\x0b", "\x0c", " ", "\u00a0", "\u2028", "\ufeff")
URL_CARRIERS = (
    '<a href="{url}">lien</a>',
    '<img src="{url}">',
    '<iframe src="{url}"></iframe>',
    '<form action="{url}"><button>x</button></form>',
    '<form><button formaction="{url}">x</button></form>',
)


def file_payloads(path: Path = PAYLOAD_FILE) -> list[str]:
    """The payload lines of the corpus file (comments and blank lines left out)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def generated() -> list[str]:
    """Handlers × tags, and javascript:/data: URLs with hidden characters × URL-carrying attributes."""
    found = [tag.format(handler=handler) for handler in EVENT_HANDLERS for tag in HANDLER_TAGS]
    found.extend(f"<img src=x{space}onerror=window.__xss=1>" for space in ("\n", "\r\n", "\f", "/\n"))
    for character in HIDDEN_CHARACTERS:
        for url in (f"java{character}script:window.__xss=1", f"{character}javascript:window.__xss=1"):
            found.extend(carrier.format(url=url) for carrier in URL_CARRIERS)
    return found


def payloads() -> list[str]:
    """Every payload, file first, without duplicates, in a stable order."""
    return list(dict.fromkeys(file_payloads() + generated()))
