"""The accuracy bench's derived variants: which replies lose their thread headers, and how."""

from __future__ import annotations

from bench.variants import VARIANTS, derive

THIRTY = VARIANTS[1]


def _reply(number: int, sender: str = "a@example.org") -> bytes:
    return (
        f"From: {sender}\nTo: list@example.org\nSubject: patch {number}\n"
        f"Message-ID: <m{number}@example.org>\nIn-Reply-To: <root@example.org>\n"
        "References: <root@example.org>\n\nbody\n"
    ).encode()


def _lost(raw: bytes) -> bool:
    return b"In-Reply-To" not in raw and b"References" not in raw


def test_copies_of_one_message_keep_or_lose_their_headers_together() -> None:
    for number in range(60):
        direct = derive(_reply(number), True, THIRTY, 7)
        list_copy = derive(_reply(number, "a-list@gmane.example"), True, THIRTY, 7)
        assert _lost(direct) == _lost(list_copy)


def test_about_the_variant_share_of_replies_lose_their_headers_and_seeds_differ() -> None:
    drawn = [[_lost(derive(_reply(n), True, THIRTY, seed)) for n in range(400)] for seed in (1, 2)]
    assert all(90 <= sum(lost) <= 150 for lost in drawn)
    assert drawn[0] != drawn[1]
    assert drawn[0] == [_lost(derive(_reply(n), True, THIRTY, 1)) for n in range(400)]


def test_a_message_that_is_not_a_reply_keeps_everything_but_the_list_markers() -> None:
    raw = b"From: a@example.org\nList-Id: <l.example.org>\nSubject: s\nMessage-ID: <x@y>\n\nbody\n"
    assert derive(raw, False, VARIANTS[2], 1) == raw.replace(b"List-Id", b"X-Bench-Was-List-Id")
