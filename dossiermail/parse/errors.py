"""The one exception the parser lets out: a message we refuse to parse, with a one-line reason.

The caller quarantines the raw message with ``str(err)`` as the reason.
"""

from __future__ import annotations


class ParseError(Exception):
    """A raw message could not be parsed safely; ``str(err)`` is a one-line reason."""

    def __init__(self, reason: str) -> None:
        one_line = " ".join(reason.split())
        super().__init__(one_line[:300] or "unknown parse failure")

    @property
    def reason(self) -> str:
        """The one-line reason, as stored with the quarantined message."""
        return str(self)
