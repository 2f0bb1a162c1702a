"""The pipeline's health in figures, for ``dossiermail status`` and monitoring.

Queue depths per step and state, the oldest step still waiting, messages waiting for the embedded
pipeline, quarantine and review counts, messages per outcome, and the last message accepted.
``problems`` turns them into one-line reasons to alert on (dead letters, something waiting too long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dossiermail.jobs.outbox import step_counts
from dossiermail.store.models import DecisionRow, JobStep, QuarantineRow, RawMessage

WAITING_STATES = ("accepted", "parsed")


@dataclass(frozen=True)
class PipelineStatus:
    """A snapshot of the pipeline."""

    steps: dict[str, dict[str, int]]
    oldest_step_at: datetime | None
    oldest_step: str | None
    waiting_messages: int
    oldest_waiting_at: datetime | None
    quarantined: int
    review: int
    outcomes: dict[str, int]
    last_accepted_at: datetime | None

    @property
    def failed(self) -> int:
        """Dead-lettered steps."""
        return sum(states.get("failed", 0) for states in self.steps.values())

    def as_dict(self, now: datetime) -> dict[str, object]:
        """Plain data for ``--json`` (ages in seconds)."""
        return {
            "steps": self.steps,
            "failed_steps": self.failed,
            "oldest_pending_step": self.oldest_step,
            "oldest_pending_step_age_s": _age(self.oldest_step_at, now),
            "waiting_messages": self.waiting_messages,
            "oldest_waiting_message_age_s": _age(self.oldest_waiting_at, now),
            "quarantined": self.quarantined,
            "review": self.review,
            "outcomes": self.outcomes,
            "last_accepted_at": self.last_accepted_at.isoformat() if self.last_accepted_at else None,
        }


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round((now - moment).total_seconds(), 1)


def pipeline_status(session: Session) -> PipelineStatus:
    """Read the figures in one session."""
    oldest = session.execute(
        select(JobStep.requested_at, JobStep.step, JobStep.subject)
        .where(JobStep.state.in_(("pending", "running")))
        .order_by(JobStep.requested_at)
        .limit(1)
    ).first()
    waiting = session.execute(
        select(func.count(), func.min(RawMessage.received_at)).where(RawMessage.state.in_(WAITING_STATES))
    ).one()
    return PipelineStatus(
        steps=step_counts(session),
        oldest_step_at=oldest[0] if oldest else None,
        oldest_step=f"{oldest[1]} {oldest[2]}" if oldest else None,
        waiting_messages=int(waiting[0]),
        oldest_waiting_at=waiting[1],
        quarantined=_count(session, select(func.count()).where(QuarantineRow.resolved_at.is_(None))),
        review=_count(
            session,
            select(func.count()).where(
                DecisionRow.superseded_at.is_(None), DecisionRow.outcome == "needs_review"
            ),
        ),
        outcomes=_outcomes(session),
        last_accepted_at=session.scalar(select(func.max(RawMessage.received_at))),
    )


def _count(session: Session, query: object) -> int:
    return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def _outcomes(session: Session) -> dict[str, int]:
    """Routed messages by current outcome, plus messages quarantined or still waiting, by state."""
    counts: dict[str, int] = {}
    decided = select(DecisionRow.outcome, func.count()).where(DecisionRow.superseded_at.is_(None))
    for outcome, count in session.execute(decided.group_by(DecisionRow.outcome)):
        counts[str(outcome)] = int(count)
    states = select(RawMessage.state, func.count()).where(RawMessage.state != "routed")
    for state, count in session.execute(states.group_by(RawMessage.state)):
        counts[str(state)] = counts.get(str(state), 0) + int(count)
    return counts


def problems(status: PipelineStatus, now: datetime, max_age: float) -> list[str]:
    """One line per reason to alert: dead-lettered steps, a step or a message waiting too long."""
    found: list[str] = []
    if status.failed:
        found.append(f"{status.failed} step(s) dead-lettered (dossiermail jobs failed)")
    step_age = _age(status.oldest_step_at, now)
    if step_age is not None and step_age > max_age:
        found.append(f"oldest pending step ({status.oldest_step}) waits for {step_age:.0f}s > {max_age:.0f}s")
    message_age = _age(status.oldest_waiting_at, now)
    if message_age is not None and message_age > max_age:
        found.append(
            f"{status.waiting_messages} message(s) not yet parsed/routed, "
            f"oldest for {message_age:.0f}s > {max_age:.0f}s"
        )
    return found
