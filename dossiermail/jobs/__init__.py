"""Pipeline steps after accept (parse, route, heal), run in-process by default or by dramatiq workers.

The database is the source of truth. Embedded (no ``DOSSIERMAIL_BROKER``): a raw message's ``state``
says which step it waits for, so a crash or a restart simply resumes with :func:`process_pending`.
With a broker: ``outbox`` keeps one ``job_steps`` row per step, ``broker`` builds the broker and its
actors on demand (never at import), ``steps`` runs a claimed step, ``sweeper`` re-sends what was left
behind, ``worker`` runs the processes, ``republish`` is the publish step's single entry point.
"""

from dossiermail.jobs.pipeline import (
    RouteOptions,
    StepCounts,
    parse_stored,
    process_pending,
    route_message,
)

__all__ = ["RouteOptions", "StepCounts", "parse_stored", "process_pending", "route_message"]
