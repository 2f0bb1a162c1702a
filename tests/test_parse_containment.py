"""Specification of the parser's containment: hostile input becomes a ParseError, never a crash."""

from __future__ import annotations

import mailparser
import pytest

from dossiermail.parse import ParseError, attachment_bytes, parse_message
from dossiermail.parse.containment import MAX_DEPTH

HEAD = b"From: a@example.fr\r\nSubject: essai\r\n"


def nested(depth: int) -> bytes:
    """A message whose multipart containers are nested ``depth`` deep."""
    parts = [HEAD + b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for level in range(1, depth):
        parts.append(f'--b{level - 1}\r\nContent-Type: multipart/mixed; boundary="b{level}"\r\n\r\n'.encode())
    parts.append(f"--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\nfond\r\n".encode())
    parts.extend(f"--b{level}--\r\n".encode() for level in reversed(range(depth)))
    return b"".join(parts)


def test_message_over_the_size_limit_is_refused() -> None:
    raw = HEAD + b"\r\n" + b"x" * 2000
    with pytest.raises(ParseError, match=r"^message too large: \d+ bytes > 1000$"):
        parse_message(raw, "k", max_bytes=1000)


def test_default_size_limit_is_25_mib() -> None:
    raw = HEAD + b"\r\n" + b"x" * (25 * 1024 * 1024)
    with pytest.raises(ParseError, match=r"> 26214400$"):
        parse_message(raw, "k")


def test_huge_header_block_is_refused() -> None:
    raw = HEAD + b"X-Junk: " + b"a" * (1024 * 1024 + 10) + b"\r\n\r\nbody"
    with pytest.raises(ParseError, match=r"^header block too large"):
        parse_message(raw, "k")


def test_nul_byte_in_headers_is_refused() -> None:
    with pytest.raises(ParseError, match=r"^NUL byte in headers$"):
        parse_message(HEAD + b"To: x\x00@example.fr\r\n\r\nbody", "k")


def test_nul_byte_in_the_body_is_tolerated() -> None:
    assert "a" in parse_message(HEAD + b"\r\na\x00b", "k").text


def test_text_without_any_mail_header_is_refused() -> None:
    with pytest.raises(ParseError, match=r"^no mail header found$"):
        parse_message(b"Content-Type: text/plain\r\n\r\nbonjour", "k")


def test_empty_input_is_refused() -> None:
    with pytest.raises(ParseError, match=r"^no mail header found$"):
        parse_message(b"", "k")


def test_nesting_at_the_limit_is_accepted() -> None:
    assert parse_message(nested(MAX_DEPTH), "k").text == "fond"


def test_nesting_deeper_than_30_is_refused() -> None:
    with pytest.raises(ParseError, match=r"^multipart nesting deeper than 30$"):
        parse_message(nested(MAX_DEPTH + 1), "k")


def test_absurd_nesting_is_refused_without_recursion_error() -> None:
    with pytest.raises(ParseError, match=r"^multipart nesting deeper than 30$"):
        parse_message(nested(2000), "k")


def test_non_bytes_input_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="must be bytes"):
        parse_message("From: a@b.fr\r\n\r\n", "k")  # type: ignore[arg-type]


def test_unlisted_recipients_group_does_not_break_header_access() -> None:
    raw = HEAD + b"To: unlisted-recipients:; (no To-header on input)\r\n\r\nbody"
    assert parse_message(raw, "k").to == ()


def test_unexpected_parser_exception_becomes_a_one_line_parse_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(raw: bytes) -> None:
        raise ValueError("ligne 1\nligne 2")

    monkeypatch.setattr("dossiermail.parse.message.message_from_bytes", explode)
    with pytest.raises(ParseError, match=r"^parser failed: ValueError: ligne 1$"):
        parse_message(HEAD + b"\r\nbody", "k")


def test_recursion_error_inside_the_parser_is_the_nesting_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def recurse(raw: bytes) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("dossiermail.parse.message.message_from_bytes", recurse)
    with pytest.raises(ParseError, match=r"^multipart nesting deeper than 30$"):
        parse_message(HEAD + b"\r\nbody", "k")


def test_parsing_does_not_go_through_mail_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(raw: bytes) -> None:
        raise AssertionError("mail-parser called")

    monkeypatch.setattr(mailparser.MailParser, "from_bytes", forbidden)
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n'
    raw += b"Content-Type: text/enriched\r\n\r\n<bold>x</bold>\r\n--x--\r\n"
    assert parse_message(raw, "k").attachments[0].content_type == "text/enriched"
    assert attachment_bytes(raw, 0).strip() == b"<bold>x</bold>"


def test_attachment_bytes_refuses_absurd_nesting_like_parse_message() -> None:
    with pytest.raises(ParseError, match=r"^multipart nesting deeper than 30$"):
        attachment_bytes(nested(2000), 0)
