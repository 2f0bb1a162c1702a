"""Fine-grained route locks: which routing decisions may depend on each other, as advisory locks.

Two messages routed at the same time by two workers must see each other's decision whenever one
can change the other's. Routing reads the store only through a few lookups, each keyed by
something the message itself carries, so a message's lock names are:

* ``id:`` its own Message-ID and every In-Reply-To/References id (``thread_headers``,
  ``shared_references``, the visibility rule, the healing of waiting replies);
* ``ref:`` every dossier reference in the subject or in a ``dossiers+slug+REF@`` recipient
  (``subject_reference``, ``explicit_address``, the healing of messages in review);
* ``subject:`` the subject blocking key (``fuzzy_subject``);
* ``from:`` the sender and every quoted-header sender (``participant_window``, ``quoted_header``);
* ``name:`` the sender's folded display name and the names of quoted headers without an address
  (``quoted_header``'s look-up by name).

A route step takes its message's locks (PostgreSQL ``pg_advisory_xact_lock``, released at commit)
in one ascending pass: waits only happen in that pass, so no cycle of waits can form. What it only
learns while routing (the dossier a decision joins or opens, a building's next automatic
reference, the messages healing re-routes) it takes with ``pg_try_advisory_xact_lock``, never
waiting; when one is busy the step's transaction is rolled back and run again, taking everything
learnt so far in the first pass (:class:`RouteLocksBusyError`). A parse step routing the message it
has just parsed (its row already locked) only tries its message's locks too (``try_take``), and
leaves the message to a route step when one is busy. SQLite and the in-process pipeline route one
message at a time and take no lock.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session

from dossiermail.domain import ParsedMessage, RoutingDecision
from dossiermail.parse.quoted_headers import name_key, quoted_headers
from dossiermail.parse.subject import strip_accents
from dossiermail.rules.model import Rules
from dossiermail.threading.collectors.explicit_address import plus_address, recipient_addresses
from dossiermail.threading.context import norm_message_id, subject_block

# One round trip for a whole set: the function scan returns the (sorted) array in order and the
# aggregate calls the lock function row by row in that order.
WAIT_ALL = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k")
TRY_ALL = text("SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k")


class RouteLocksBusyError(Exception):
    """A lock learnt while routing is held by another worker: roll back, then take ``names`` first."""

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__(f"route locks busy: {', '.join(sorted(names))}")
        self.names = names


def lock_key(name: str) -> int:
    """The signed 64-bit advisory lock key of a lock name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _name_key(name: str) -> tuple[str, ...]:
    return tuple(sorted(strip_accents(name).lower().replace(",", " ").split()))


def _quoted_senders(message: ParsedMessage, rules: Rules) -> set[str]:
    """Lock names of the quoted headers: their address, else the contacts of that name and the name."""
    names: set[str] = set()
    for header in quoted_headers(message.text):
        if header.sender is not None:
            names.add(f"from:{header.sender.lower()}")
            continue
        wanted = _name_key(header.name)
        names |= {f"from:{c.email.lower()}" for c in rules.contacts if wanted and _name_key(c.name) == wanted}
        if folded := name_key(header.name):
            names.add(f"name:{folded}")
    return names


def message_lock_names(message: ParsedMessage, rules: Rules) -> frozenset[str]:
    """Every lock name another message's routing could share with this one's."""
    ids = [message.message_id] if message.message_id else []
    names = {f"id:{norm_message_id(i).lower()}" for i in [*ids, *message.thread_ids] if norm_message_id(i)}
    pattern = rules.routing.reference_pattern
    names |= {f"ref:{m.group('ref').upper()}" for m in pattern.finditer(message.subject)}
    for address in recipient_addresses(message):
        plus = plus_address(address, rules)
        if plus is not None and plus[1]:
            names.add(f"ref:{plus[1]}")
    block = subject_block(message.normalized_subject)
    if block:
        names.add(f"subject:{block}")
    if message.from_ and message.from_.email:
        names.add(f"from:{message.from_.email.lower()}")
    if message.from_ and (folded := name_key(message.from_.name or "")):
        names.add(f"name:{folded}")
    names |= _quoted_senders(message, rules)
    return frozenset(names)


def decision_lock_names(decision: RoutingDecision) -> frozenset[str]:
    """Locks a decision needs before it is stored: the dossier it joins or opens (its participants
    and the messages in review mentioning it), or the building's next automatic reference."""
    names: set[str] = set()
    if decision.dossier:
        names.add(f"ref:{decision.dossier.upper()}")
    if decision.opens is not None:
        if decision.opens.reference:
            names.add(f"ref:{decision.opens.reference.upper()}")
        elif decision.building:
            names.add(f"auto:{decision.building}")
    return frozenset(names)


class RouteLocks:
    """The advisory locks one route transaction holds (none unless the store is PostgreSQL)."""

    def __init__(self, session: Session, rules: Rules, first: frozenset[str] = frozenset()) -> None:
        self.session = session
        self.rules = rules
        self.active = session.get_bind().dialect.name == "postgresql"
        self.held: set[str] = set()
        self.first = first
        self.covered: set[str] = set()

    def take(self, names: frozenset[str], message_key: str) -> None:
        """Wait for ``names`` (those of ``message_key``) and the names learnt in earlier rounds, in
        ascending key order."""
        self.covered.add(message_key)
        wanted = (names | self.first) - self.held
        if self.active and wanted:
            self.session.execute(WAIT_ALL, {"keys": sorted({lock_key(name) for name in wanted})})
        self.held |= wanted

    def try_take(self, names: frozenset[str], message_key: str) -> bool:
        """Take ``names`` (those of ``message_key``) without waiting; False, and ``message_key`` not
        covered, when one is held elsewhere (those that were free stay held until the commit)."""
        wanted = (names | self.first) - self.held
        if self.active and wanted and not self._try(wanted):
            return False
        self.held |= wanted
        self.covered.add(message_key)
        return True

    def extend(self, names: frozenset[str]) -> None:
        """Take ``names`` without waiting; :class:`RouteLocksBusyError` (with all names) if one is held."""
        wanted = names - self.held
        if self.active and wanted and not self._try(wanted):
            raise RouteLocksBusyError(frozenset(self.held | wanted))
        self.held |= wanted

    def _try(self, names: set[str] | frozenset[str]) -> bool:
        """One ``pg_try_advisory_xact_lock`` pass over ``names``: whether all of them were free."""
        return bool(self.session.scalar(TRY_ALL, {"keys": sorted({lock_key(name) for name in names})}))

    def message(self, message: ParsedMessage) -> None:
        """Before routing ``message`` (a healed one): its own lock names."""
        if message.message_key not in self.covered:
            self.extend(message_lock_names(message, self.rules))
            self.covered.add(message.message_key)

    def decision(self, decision: RoutingDecision) -> None:
        """Before storing ``decision``: the dossier or automatic reference it touches."""
        self.extend(decision_lock_names(decision))
