"""The ``poll-imap`` configuration file: mailboxes to poll, validated with ``file:line`` errors.

```yaml
idle_timeout: 600        # seconds in IDLE before renewing (must stay under 29 minutes)
poll_interval: 60        # seconds between polls when the server has no IDLE
mailboxes:
  - {name: cabinet, host: imap.example.fr, port: 993, tls: true, user: dossiers,
     password_env: DOSSIERMAIL_IMAP_PASSWORD, folders: [INBOX], after: seen}
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dossiermail.rules.files import read_rule_file
from dossiermail.rules.problems import RuleProblem, RulesError

MAX_IDLE = 29 * 60


class MailboxConfig(BaseModel):
    """One mailbox: where it is, how to log in, which folders, what to do once stored."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    host: str = Field(min_length=1)
    port: int = Field(default=993, ge=1, le=65535)
    tls: bool = True
    user: str = Field(min_length=1)
    password_env: str | None = None
    password_file: Path | None = None
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], min_length=1)
    after: Literal["seen", "move"] = "seen"
    move_to: str = "Traité"

    @model_validator(mode="after")
    def _one_password(self) -> MailboxConfig:
        if (self.password_env is None) == (self.password_file is None):
            raise ValueError("give exactly one of password_env or password_file")
        return self


class ImapConfigFile(BaseModel):
    """The whole file: timing settings and the mailboxes."""

    model_config = ConfigDict(extra="forbid")

    mailboxes: list[MailboxConfig] = Field(default_factory=list)
    batch: int = Field(default=50, ge=1, le=1000)
    idle_timeout: float = Field(default=600, gt=0)
    poll_interval: float = Field(default=60, gt=0)
    backoff_max: float = Field(default=300, gt=0)

    @field_validator("idle_timeout")
    @classmethod
    def _under_29_minutes(cls, value: float) -> float:
        if value >= MAX_IDLE:
            raise ValueError(f"must be under {MAX_IDLE} seconds (servers drop IDLE after 30 minutes)")
        return value


@dataclass(frozen=True)
class Mailbox:
    """A configured mailbox with its password resolved."""

    config: MailboxConfig
    password: str


def load_imap_config(path: Path) -> ImapConfigFile:
    """The validated file; raise ``RulesError`` with every ``file:line: message`` problem."""
    if not path.is_file():
        raise RulesError([RuleProblem(str(path), None, "file not found")])
    read = read_rule_file(path.parent, path.name, ImapConfigFile)
    problems = list(read.problems)
    if not problems and not read.model.mailboxes:
        problems.append(RuleProblem(read.path, read.line(()), "no mailboxes: add a 'mailboxes:' list"))
    names = [mailbox.name for mailbox in read.model.mailboxes]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(read.problem(("mailboxes", index, "name"), f"duplicate mailbox name {name!r}"))
    if problems:
        raise RulesError(problems)
    return read.model


def resolve_password(config: MailboxConfig) -> str:
    """The mailbox's password from its environment variable or file; ``ValueError`` if absent."""
    if config.password_env is not None:
        value = os.environ.get(config.password_env)
        if not value:
            raise ValueError(
                f"mailbox {config.name!r}: environment variable {config.password_env} is not set"
            )
        return value
    assert config.password_file is not None
    try:
        return config.password_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(
            f"mailbox {config.name!r}: cannot read password_file {config.password_file}: {exc.strerror}"
        ) from None
