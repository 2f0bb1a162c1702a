"""Safe rendering of mail bodies for the extranet: sanitized HTML, quoted history apart.

``html_body`` turns a message's HTML into markup safe to embed as-is (nh3 last, depth capped, no
remote content, ``cid:`` images resolved, links opening in a new tab, ``redact`` applied to what a
reader sees) and ``text_body`` does the same for plain text. Both return a ``SafeBody``.
"""

from dossiermail.mailhtml.body import SafeBody, html_body, remote_note, text_body
from dossiermail.mailhtml.policy import MAX_DEPTH

__all__ = ["MAX_DEPTH", "SafeBody", "html_body", "remote_note", "text_body"]
