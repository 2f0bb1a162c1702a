"""Mail -> ``ParsedMessage``: headers, text, quotes and signature, attachments, auto-reply clues.

The public contract is ``parse_message`` (raises only ``ParseError``), ``normalize_subject`` and
``attachment_bytes``. Everything runs under the containment limits of ``containment``.
"""

from dossiermail.parse.errors import ParseError
from dossiermail.parse.message import attachment_bytes, parse_message
from dossiermail.parse.subject import normalize_subject

__all__ = ["ParseError", "attachment_bytes", "normalize_subject", "parse_message"]
