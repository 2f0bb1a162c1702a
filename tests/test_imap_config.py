"""The ``poll-imap`` configuration file: what is accepted, and one ``file:line`` line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from dossiermail.cli import main
from dossiermail.ingest.imap import Backoff
from dossiermail.ingest.imap_config import load_imap_config, resolve_password
from dossiermail.rules.problems import RulesError

GOOD = """\
idle_timeout: 300
mailboxes:
  - name: cabinet
    host: imap.cabinet-azur.example.fr
    user: dossiers
    password_env: DM_IMAP_PASSWORD
  - name: archives
    host: 127.0.0.1
    port: 1143
    tls: false
    user: archives
    password_file: secret.txt
    folders: [INBOX, Dossiers]
    after: move
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "imap.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as raised:
        load_imap_config(path)
    return [str(problem).replace(f"{tmp_path}/", "") for problem in raised.value.problems]


def test_a_valid_file_gives_defaults_for_what_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "imap.yaml"
    path.write_text(GOOD)

    config = load_imap_config(path)

    first, second = config.mailboxes
    assert (first.port, first.tls, first.folders, first.after) == (993, True, ["INBOX"], "seen")
    assert (second.folders, second.after, second.move_to) == (["INBOX", "Dossiers"], "move", "Traité")
    assert config.idle_timeout == 300


def test_each_mistake_is_one_line_with_its_line_number(tmp_path: Path) -> None:
    text = GOOD.replace("    password_env: DM_IMAP_PASSWORD\n", "").replace("after: move", "after: delete")

    assert problems_of(tmp_path, text) == [
        "imap.yaml:3: mailboxes: give exactly one of password_env or password_file",
        "imap.yaml:13: after: Input should be 'seen' or 'move'",
    ]


def test_idle_must_be_renewed_before_29_minutes(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, GOOD.replace("idle_timeout: 300", "idle_timeout: 1800"))

    assert problem.startswith("imap.yaml:1: idle_timeout: must be under 1740 seconds")


def test_unknown_keys_duplicates_and_empty_files_are_refused(tmp_path: Path) -> None:
    assert problems_of(tmp_path, GOOD.replace("    tls: false", "    tsl: false")) == [
        "imap.yaml:10: unknown key 'tsl' (allowed: name, host, port, tls, user, password_env, "
        "password_file, folders, after, move_to)"
    ]
    assert problems_of(tmp_path, GOOD.replace("name: archives", "name: cabinet")) == [
        "imap.yaml:7: duplicate mailbox name 'cabinet'"
    ]
    assert problems_of(tmp_path, "mailboxes: []\n") == ["imap.yaml:1: no mailboxes: add a 'mailboxes:' list"]


def test_passwords_come_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "imap.yaml"
    path.write_text(GOOD.replace("secret.txt", str(tmp_path / "secret.txt")))
    (tmp_path / "secret.txt").write_text("mot-de-passe\n")
    first, second = load_imap_config(path).mailboxes
    monkeypatch.delenv("DM_IMAP_PASSWORD", raising=False)

    with pytest.raises(ValueError, match="environment variable DM_IMAP_PASSWORD is not set"):
        resolve_password(first)
    monkeypatch.setenv("DM_IMAP_PASSWORD", "s3cret")
    assert resolve_password(first) == "s3cret"
    assert resolve_password(second) == "mot-de-passe"


def test_the_command_prints_every_problem_then_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path("imap.yaml")
    path.write_text("mailboxes:\n  - {name: x, host: h}\n")

    with pytest.raises(SystemExit) as done:
        main(["poll-imap", "--config", str(path), "--once", "--db", "sqlite:///db.sqlite"])

    assert done.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == f"dossiermail: error: {len(lines) - 1} problem(s) in {path}, nothing polled"
    assert all(line.startswith(f"{path}:2: ") for line in lines[:-1])


def test_reconnection_delays_double_up_to_the_cap_and_start_over_after_success() -> None:
    backoff = Backoff(cap=10)

    delays = [backoff.next() for _ in range(6)]
    backoff.reset()

    assert delays == [1, 2, 4, 8, 10, 10]
    assert backoff.next() == 1
