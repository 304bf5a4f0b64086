"""The one trace-backend interface, answered by Jaeger or by the local trace store."""

from __future__ import annotations

from typing import Protocol

from ops.spans import Trace, TraceQuery


class TraceBackend(Protocol):
    """Search traces and fetch one by id; ids are 32 lowercase hex digits."""

    async def find(self, query: TraceQuery) -> list[Trace]:
        """Traces matching the query, newest first, at most query.limit."""
        ...

    async def get(self, trace_id: str) -> Trace | None:
        """The trace, or None when the backend does not know it."""
        ...

    def url(self, trace_id: str) -> str:
        """Where a human can look at the trace."""
        ...

    async def check(self) -> None:
        """Return when the backend answers; raise OpsError saying why when it does not."""
        ...
