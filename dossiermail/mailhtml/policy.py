"""What mail HTML may keep: the tag and attribute allow-lists and the URL rules of ``mailhtml``.

Style attributes are never kept: the served extranet's CSP (``style-src 'self'``) would refuse
them anyway, and dropping them removes ``url()``/``expression()`` tricks at the root.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_DEPTH = 100

# Tags whose whole content goes at the first pass: scripts, styles and everything whose content is
# not mail text (embedded documents, foreign XML, raw-text elements).
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "title", "template", "noscript", "xmp", "iframe", "noembed", "noframes",
        "object", "applet", "svg", "math", "textarea", "select", "frameset", "frame",
    }
)  # fmt: skip

VOID_TAGS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
        "source", "track", "wbr", "basefont", "bgsound", "frame", "image",
    }
)  # fmt: skip

SHOWN_TAGS = frozenset(
    {
        "p", "br", "div", "span", "a", "b", "strong", "i", "em", "u", "s", "strike", "del", "ins",
        "small", "sub", "sup", "mark", "q", "cite", "abbr", "address",
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col",
        "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "img", "pre", "code", "kbd", "samp", "tt",
        "hr",
    }
)  # fmt: skip

# Attributes a reader's page keeps, per tag ("*" = every shown tag).
SHOWN_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"dir", "lang", "title"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign"},
    "tr": {"align", "valign"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start"},
    "li": {"value"},
    "p": {"align"},
    "div": {"align"},
    "table": {"align"},
}

# The first nh3 pass also keeps what quoted-history detection reads (classes, ids, cite type).
FIRST_PASS_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(names) for tag, names in SHOWN_ATTRIBUTES.items()},
    "*": {"dir", "lang", "title", "class", "id"},
    "blockquote": {"type"},
}
FIRST_PASS_SCHEMES = frozenset({"http", "https", "mailto", "cid", "data"})
FINAL_SCHEMES = frozenset({"http", "https", "mailto", "data"})
LINK_REL = "noopener noreferrer"
LINK_TARGET = "_blank"

_INLINE_IMAGE = re.compile(r"data:image/(?:png|jpeg|jpg|gif|webp)[;,]", re.IGNORECASE)
_DIMENSION = re.compile(r"\d{1,4}%?")
_NUMBER = re.compile(r"\d{1,3}")
_URL_NOISE = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
_NUMERIC_ATTRIBUTES = frozenset({"colspan", "rowspan", "span", "start", "value"})
_ALIGN_VALUES = frozenset({"left", "right", "center", "justify"})
_VALIGN_VALUES = frozenset({"top", "middle", "bottom", "baseline"})
_DIR_VALUES = frozenset({"ltr", "rtl", "auto"})
_LANG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")


def url_key(value: str) -> str:
    """A URL as a browser reads its scheme: outer controls/spaces stripped, tabs/newlines removed."""
    return _URL_NOISE.sub("", value.strip(_C0_AND_SPACE)).lower()


def is_remote(value: str) -> bool:
    """True for a URL a browser would fetch from another host (http, https, protocol-relative)."""
    key = url_key(value).replace("\\", "/")
    return key.startswith(("http:", "https:", "//"))


def is_web_link(value: str) -> bool:
    """True for the only links a reader may follow from a mail: http and https."""
    return url_key(value).startswith(("http://", "https://"))


def is_mailto(value: str) -> bool:
    return url_key(value).startswith("mailto:")


def is_inline_image(value: str) -> bool:
    """True for ``data:`` URLs of raster images (never SVG, never HTML)."""
    return _INLINE_IMAGE.match(url_key(value)) is not None


def content_id(value: str) -> str | None:
    """The Content-ID a ``cid:`` URL names (without angle brackets), or None for other URLs."""
    stripped = value.strip(_C0_AND_SPACE)
    if not stripped.lower().startswith("cid:"):
        return None
    from urllib.parse import unquote

    found = unquote(stripped[4:]).strip().strip("<>").strip()
    return found or None


def _one_of(values: frozenset[str]) -> Callable[[str], bool]:
    return lambda value: value.strip().lower() in values


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value.strip()) is not None


_PLAIN_ATTRIBUTE_RULES: dict[str, Callable[[str], bool]] = {
    "width": _matches(_DIMENSION),
    "height": _matches(_DIMENSION),
    **{name: _matches(_NUMBER) for name in _NUMERIC_ATTRIBUTES},
    "align": _one_of(_ALIGN_VALUES),
    "valign": _one_of(_VALIGN_VALUES),
    "dir": _one_of(_DIR_VALUES),
    "lang": _matches(_LANG),
}


def plain_attribute_ok(name: str, value: str) -> bool:
    """Presentational attributes keep only their few harmless values; others are not plain."""
    rule = _PLAIN_ATTRIBUTE_RULES.get(name)
    return rule is not None and rule(value)
