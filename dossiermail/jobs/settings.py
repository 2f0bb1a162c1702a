"""Worker settings from the environment: broker URL, leases, retries, sweeping, queue names, site.

Nothing here connects anywhere; a bad value is a ``ValueError`` naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BROKER_ENV = "DOSSIERMAIL_BROKER"
SITE_ENV = "DOSSIERMAIL_SITE"
DEFAULT_SITE = Path("site")
_QUEUE_PREFIX = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]{0,63}")


@dataclass(frozen=True)
class JobSettings:
    """How long a claim holds, how often a step is tried, when the sweeper steps in."""

    lease: float = 300.0
    max_attempts: int = 5
    backoff_base: float = 10.0
    backoff_cap: float = 3600.0
    ack_timeout: float = 300.0
    sweep_interval: float = 30.0
    queue_prefix: str = "dossiermail"
    publish_delay: float = 1.0
    """Seconds a requested publication waits, so that the route steps of a burst share one run."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JobSettings:
        """Defaults, overridden by ``DOSSIERMAIL_JOB_*``, ``…_SWEEP_INTERVAL`` and ``…_QUEUE_PREFIX``."""
        values = os.environ if env is None else env
        default = cls()
        prefix = values.get("DOSSIERMAIL_QUEUE_PREFIX", default.queue_prefix)
        if not _QUEUE_PREFIX.fullmatch(prefix):
            raise ValueError(f"DOSSIERMAIL_QUEUE_PREFIX={prefix!r}: letters, digits, '_' and '-' only")
        return cls(
            lease=_seconds(values, "DOSSIERMAIL_JOB_LEASE", default.lease),
            max_attempts=int(_seconds(values, "DOSSIERMAIL_JOB_ATTEMPTS", default.max_attempts)),
            backoff_base=_seconds(values, "DOSSIERMAIL_JOB_BACKOFF", default.backoff_base),
            backoff_cap=_seconds(values, "DOSSIERMAIL_JOB_BACKOFF_CAP", default.backoff_cap),
            ack_timeout=_seconds(values, "DOSSIERMAIL_JOB_ACK_TIMEOUT", default.ack_timeout),
            sweep_interval=_seconds(values, "DOSSIERMAIL_SWEEP_INTERVAL", default.sweep_interval),
            queue_prefix=prefix,
            publish_delay=_seconds(values, "DOSSIERMAIL_PUBLISH_DELAY", default.publish_delay, zero=True),
        )

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before attempt ``attempts + 1``: doubling from the base, capped."""
        return float(min(self.backoff_base * 2 ** max(attempts - 1, 0), self.backoff_cap))


def _seconds(values: Mapping[str, str], name: str, default: float, *, zero: bool = False) -> float:
    text = values.get(name)
    if text is None or not text.strip():
        return float(default)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected a number") from None
    if number < 0 or (number == 0 and not zero):
        expected = "zero or a positive number" if zero else "a positive number"
        raise ValueError(f"{name}={text!r}: expected {expected}")
    return number


def broker_url(env: Mapping[str, str] | None = None) -> str | None:
    """The broker URL from ``DOSSIERMAIL_BROKER``, or None for the embedded (in-process) pipeline."""
    values = os.environ if env is None else env
    url = values.get(BROKER_ENV, "").strip()
    return url or None


def site_dir(explicit: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The extranet folder (worker, serve): ``--site``, else ``DOSSIERMAIL_SITE``, else ``./site``."""
    values = os.environ if env is None else env
    if explicit is not None:
        return explicit
    configured = values.get(SITE_ENV, "").strip()
    return Path(configured) if configured else DEFAULT_SITE
