"""A throwaway Dovecot for the IMAP tests: config, users and mail in a temporary folder.

``Dovecot.start()`` writes ``dovecot.conf`` (``ssl = no``, a ``passwd-file`` passdb, a static userdb
running as the unprivileged ``mail`` user, ``base_dir``/``state_dir``/``log_path`` inside the folder),
runs ``dovecot -c CONF`` on a free 127.0.0.1 port and waits for the greeting; ``stop()`` stops it and
``restart()`` brings it back on the same port with the same mail; ``new_user()`` gives each test its
own mailbox on a shared server (stopping Dovecot takes about two seconds). Dovecot must run as root.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

USER = "syndic"
PASSWORD = "secret-imap-password"
MAIL_USER = "mail"
SPARE_USERS = 50

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""


def available() -> str | None:
    """The path of the ``dovecot`` binary, or None when Dovecot is not installed."""
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


@contextmanager
def running() -> Iterator[Dovecot]:
    """A started throwaway Dovecot, removed at the end; a missing Dovecot fails under CI=true."""
    from tests.conftest import service_missing

    binary = available()
    if binary is None:
        service_missing("Dovecot (apt-get install -y dovecot-imapd, or `make services`)")
        raise AssertionError("unreachable: service_missing skips or fails")
    instance = Dovecot(binary)
    try:
        instance.start()
        yield instance
    finally:
        instance.cleanup()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dovecot:
    """One Dovecot instance with one user, ``USER``/``PASSWORD``, on ``host``:``port``."""

    binary: str
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dm-dovecot-")))
    _handed_out: int = 0

    @property
    def config(self) -> Path:
        """The dovecot.conf this instance runs with."""
        return self.root / "dovecot.conf"

    def start(self) -> None:
        """Write the config (first time) and start the server; wait until it greets."""
        if not self.config.exists():
            self._write_files()
        # Not capture_output: the daemon would inherit the pipes and run() would wait forever.
        with (self.root / "start.err").open("wb") as errors:
            subprocess.run(
                [self.binary, "-c", str(self.config)], check=True, stdout=subprocess.DEVNULL, stderr=errors
            )
        self._wait(listening=True)

    def stop(self) -> None:
        """Stop the server and wait until the port is closed."""
        subprocess.run(
            [self.binary, "-c", str(self.config), "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait(listening=False)

    def restart(self) -> None:
        """Stop, then start again on the same port with the same mail."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop if running and remove the temporary folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def new_user(self) -> str:
        """A user whose mailbox no one has used yet (the passwd-file lists ``SPARE_USERS`` of them).

        They are all written up front: Dovecot re-reads a changed passwd-file at most once a second.
        """
        self._handed_out += 1
        if self._handed_out > SPARE_USERS:
            raise RuntimeError(f"more than {SPARE_USERS} users asked of one Dovecot")
        return f"{USER}-{self._handed_out}"

    def log(self) -> str:
        """Dovecot's log so far (for failing tests)."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _write_files(self) -> None:
        uid = pwd.getpwnam(MAIL_USER).pw_uid
        gid = grp.getgrnam(MAIL_USER).gr_gid
        self.root.chmod(0o755)
        mail = self.root / "mail"
        mail.mkdir()
        os.chown(mail, uid, gid)
        names = [USER] + [f"{USER}-{n}" for n in range(1, SPARE_USERS + 1)]
        (self.root / "passwd").write_text("".join(f"{name}:{{PLAIN}}{PASSWORD}\n" for name in names))
        text = CONFIG.format(root=self.root, uid=uid, gid=gid, port=self.port)
        self.config.write_text(text)

    def _wait(self, *, listening: bool, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._greets() == listening:
                return
            time.sleep(0.05)
        state = "start" if listening else "stop"
        raise RuntimeError(f"Dovecot did not {state} on port {self.port}:\n{self.log()[-2000:]}")

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False
