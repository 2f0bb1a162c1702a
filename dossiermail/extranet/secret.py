"""The server secret that signs access links and session cookies.

``DOSSIERMAIL_SECRET`` in the environment wins; otherwise a secret file (default ``var/secret``)
holds it, created with 32 random bytes and mode 0600 on first use. Changing the secret invalidates
every link and cookie already given.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_ENV = "DOSSIERMAIL_SECRET"  # noqa: S105 - the variable's name, not a secret
DEFAULT_SECRET_FILE = Path("var/secret")
MIN_SECRET_LENGTH = 32


class SecretError(Exception):
    """The secret cannot be read or is too weak; the message is one line for the user."""


def load_secret(secret_file: Path | None = None) -> bytes:
    """The secret from ``$DOSSIERMAIL_SECRET``, else from ``secret_file`` (created 0600 when absent)."""
    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        return _checked(from_env, f"${SECRET_ENV}")
    path = secret_file or DEFAULT_SECRET_FILE
    if not path.exists():
        _create_secret_file(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"cannot read the secret file {path}: {exc}") from None
    return _checked(text, str(path))


def _checked(text: str, where: str) -> bytes:
    if len(text) < MIN_SECRET_LENGTH:
        raise SecretError(
            f"the secret in {where} is too short ({len(text)} < {MIN_SECRET_LENGTH} characters)"
        )
    return text.encode("utf-8")


def _create_secret_file(path: Path) -> None:
    """Write a new random secret readable by its owner only (never replaces an existing file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise SecretError(f"cannot create the secret file {path}: {exc}") from None
    with os.fdopen(handle, "w", encoding="ascii") as stream:
        stream.write(secrets.token_hex(32) + "\n")
