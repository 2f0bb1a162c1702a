"""Whether a message is public (the extranet may show it) or internal to the syndic.

A message is internal when (rules in ``routing.yaml`` ``visibility``):

1. its subject carries an internal tag (``[INTERNE]``);
2. it was sent to an internal alias, ``dossiers+<slug>[+<ref>]+interne@domain``;
3. it is a forward (``TR :``/``Fwd:``) by a gestionnaire to recipients none of whom is a co-owner
   or conseil syndical contact (``internal_forwards``, on by default): the syndic briefing a
   supplier, or a colleague;
4. it replies to an internal message: a parent or ancestor in In-Reply-To/References, the message a
   quoted header designates, or — when the parent was never received — a filed message pointing at
   the same missing Message-ID (shared references). A supplier answering an internal forward stays
   internal. Siblings under a stored parent do not pass visibility to each other: an owner's public
   reply to their own complaint stays public although the syndic forwarded that complaint
   internally.

Otherwise it is public. The reason is kept as evidence of kind ``visibility`` (score 0: it never
weighs on where the message goes).
"""

from __future__ import annotations

import re

from dossiermail.domain import Evidence, ParsedMessage, Visibility
from dossiermail.parse.subject import strip_accents
from dossiermail.rules.model import Rules
from dossiermail.threading.collectors import quoted_header
from dossiermail.threading.collectors.explicit_address import is_internal_alias, recipient_addresses
from dossiermail.threading.context import RoutingContext

KIND = "visibility"
RULE = "routing.yaml visibility"
_FORWARD = re.compile(r"^\s*(?:\[[^\[\]]*\]\s*)*(?:re\s*:\s*)*(?:tr|fwd?|fw)\s*:", re.IGNORECASE)
_AUDIENCE_ROLES = frozenset({"coproprietaire", "conseil_syndical"})


def _tagged(message: ParsedMessage, rules: Rules) -> str | None:
    subject = message.subject.lower()
    for tag in rules.routing.visibility.internal_subject_tags:
        if tag.lower() in subject:
            return f"subject tag {tag}"
    return None


def _alias(message: ParsedMessage, rules: Rules) -> str | None:
    found = next((a for a in recipient_addresses(message) if is_internal_alias(a, rules)), None)
    return f"sent to the internal alias {found}" if found else None


def is_forward(message: ParsedMessage) -> bool:
    """A ``TR :``/``Fwd:`` subject (after tags and ``RE :``)."""
    return _FORWARD.match(strip_accents(message.subject)) is not None


def _internal_forward(message: ParsedMessage, rules: Rules) -> str | None:
    if not rules.routing.visibility.internal_forwards or not is_forward(message):
        return None
    sender = message.from_.email if message.from_ and message.from_.email else ""
    contact = rules.contact(sender) if sender else None
    if contact is None or contact.role != "gestionnaire":
        return None
    for address in (a.email for a in message.recipients if a.email):
        recipient = rules.contact(address)
        if recipient is not None and recipient.role in _AUDIENCE_ROLES:
            return None
    return f"forward by gestionnaire {sender} to no co-owner or conseil syndical"


def _inherited(message: ParsedMessage, context: RoutingContext) -> str | None:
    index = context.index
    ids = message.thread_ids
    parents = index.parents(ids) if ids else ()
    for parent in parents:
        if parent.visibility == "internal":
            return f"replies to the internal message <{parent.message_id}>"
    ghosts = tuple(i for i in ids if i not in {p.message_id for p in parents})
    for link in index.linked(ghosts, message.message_key) if ghosts else ():
        if link.visibility == "internal":
            return f"answers the same missing message <{link.message_id}> as an internal one"
    for match in quoted_header.matches(message, context):
        if match.found is not None and match.score > 0 and match.found.visibility == "internal":
            return f"quotes the internal message <{match.found.message_id}>"
    return None


def visibility(message: ParsedMessage, context: RoutingContext) -> tuple[Visibility, Evidence | None]:
    """``("internal", why)`` when a rule above applies, else ``("public", None)``."""
    rules = context.rules
    why = (
        _tagged(message, rules)
        or _alias(message, rules)
        or _internal_forward(message, rules)
        or _inherited(message, context)
    )
    if why is None:
        return "public", None
    return "internal", Evidence(KIND, None, None, 0.0, RULE, f"internal: {why}")
