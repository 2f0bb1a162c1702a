"""Pipeline steps after accept (parse, route, heal), run in-process by default.

The database is the source of truth: a raw message's ``state`` says which step it waits for, so a
crash or a restart simply resumes with :func:`process_pending`.
"""

from dossiermail.jobs.pipeline import (
    RouteOptions,
    StepCounts,
    parse_stored,
    process_pending,
    route_message,
)

__all__ = ["RouteOptions", "StepCounts", "parse_stored", "process_pending", "route_message"]
