"""Spans in SQLite with a size and age limit, searchable the way traces.list asks.

Several ops replicas on one host may share one file (TRACE_STORE_PATH): SQLite's WAL lets them read
while one writes, writes take the file's write lock in turn (waiting up to BUSY_TIMEOUT), and the
span count the limits are kept by lives in the file, so every replica prunes by the same figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from chatops.errors import BACKEND_FAILED
from ops.errors import OpsError
from ops.spans import STATUS_ERROR, Span, SpanEvent, Trace, TraceQuery

NAME = "trace store"
FIRST_SLICE_NS = 10 * 10**9  # the newest 10 s of a search first, then 40, 160, ...

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT NOT NULL,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    status_message TEXT NOT NULL,
    attributes TEXT NOT NULL,
    events TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another process's write to end

T = TypeVar("T")


def _row(span: Span) -> tuple[object, ...]:
    return (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.service,
        span.name,
        span.start_ns,
        span.end_ns,
        span.status_code,
        span.status_message,
        json.dumps(dict(span.attributes)),
        json.dumps([[e.time_ns, e.name, dict(e.attributes)] for e in span.events]),
    )


def _span(row: Sequence[object]) -> Span:
    attrs: dict[str, str] = json.loads(str(row[9]))
    events = tuple(SpanEvent(int(t), str(n), tuple(a.items())) for t, n, a in json.loads(str(row[10])))
    return Span(
        trace_id=str(row[0]),
        span_id=str(row[1]),
        parent_span_id=str(row[2]),
        service=str(row[3]),
        name=str(row[4]),
        start_ns=int(str(row[5])),
        end_ns=int(str(row[6])),
        status_code=int(str(row[7])),
        status_message=str(row[8]),
        attributes=tuple(attrs.items()),
        events=events,
    )


class SpanStore:
    """SQLite holding at most `max_spans` spans in at most `max_bytes`, none older than `max_age` seconds.

    Thread-safe. The byte cap matters as much as the count: a few spans with huge attributes or
    thousands of events each would otherwise fill the disk within the span limit.

    The event loop's work with it goes through `call`, on one thread of the store's own: SQLite's
    memory (its page cache, statements, rows) is then taken and given back by that one thread, from
    one of the C allocator's arenas. Spread over asyncio's default pool instead (up to cores + 4
    threads, each with an arena of its own, and each arena keeping what was freed in it for reuse),
    the same work held megabytes more after every load, until each arena had reached its own peak.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_spans: int = 200_000,
        max_bytes: int = 256 << 20,
        max_age: float = 86400.0,
        ui_url: str = "",
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.max_spans = max_spans
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.ui_url = ui_url.rstrip("/")
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-store")
        # Spans stored, counted once here and kept up to date with each write (in the file, so that
        # every process sharing it sees the same): counting a full table on every batch would cost
        # more than storing it.
        with self._lock, self._writing():
            (exact,) = self._db.execute("SELECT count(*) FROM spans").fetchone()
            self._set_count(int(exact))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction, holding the file's write lock from its start (no upgrade deadlock
        between two processes that both read first)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _get_count(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'spans'").fetchone()
        return int(row[0]) if row else 0

    def _set_count(self, count: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('spans', ?)", (max(0, count),))

    async def call(self, work: Callable[[], T]) -> T:
        """`work()` on the store's own thread (one at a time, in order), without blocking the loop."""
        try:
            done = asyncio.get_running_loop().run_in_executor(self._thread, work)
        except RuntimeError:  # the thread has been shut down with the store
            raise sqlite3.ProgrammingError("the trace store is closed") from None
        return await done

    def close(self) -> None:
        self._thread.shutdown()
        with self._lock:
            self._db.close()

    def url(self, trace_id: str) -> str:
        return f"{self.ui_url}/trace/{trace_id}"

    # -- writing --------------------------------------------------------------------------------
    def add(self, spans: Sequence[Span], now_ns: int | None = None) -> int:
        """Store spans (a re-sent span replaces itself), then enforce the limits; returns how many."""
        if not spans:
            return 0
        rows = [_row(s) for s in spans]
        with self._lock, self._writing():
            count = self._get_count()
            before = self._db.total_changes
            self._db.executemany("INSERT OR REPLACE INTO spans VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            # A re-sent span replaces itself but counts again: an overestimate, so at worst a few
            # spans more than needed go early.
            count += self._db.total_changes - before
            self._set_count(self._prune(now_ns if now_ns is not None else time.time_ns(), count))
        return len(spans)

    def _prune(self, now_ns: int, count: int) -> int:
        """Enforce the limits; returns the count left."""
        aged = self._db.execute("DELETE FROM spans WHERE start_ns < ?", (now_ns - int(self.max_age * 1e9),))
        count -= max(0, aged.rowcount)
        if count > self.max_spans:
            # Drop the oldest spans; whole traces go once their spans age out too.
            dropped = self._db.execute(
                "DELETE FROM spans WHERE rowid IN (SELECT rowid FROM spans ORDER BY start_ns LIMIT ?)",
                (count - self.max_spans,),
            )
            count -= max(0, dropped.rowcount)
        while self._used_bytes() > self.max_bytes:
            # Oldest first, a tenth at a time: freed pages are reused by the next writes.
            (left,) = self._db.execute("SELECT count(*) FROM spans").fetchone()
            if not left:
                return 0
            cut = self._db.execute(
                "DELETE FROM spans WHERE rowid IN (SELECT rowid FROM spans ORDER BY start_ns LIMIT ?)",
                (max(1, left // 10),),
            )
            count -= max(0, cut.rowcount)
        return count

    def _used_bytes(self) -> int:
        """Bytes of the database that hold data (its pages less the free ones)."""
        (pages,) = self._db.execute("PRAGMA page_count").fetchone()
        (free,) = self._db.execute("PRAGMA freelist_count").fetchone()
        (size,) = self._db.execute("PRAGMA page_size").fetchone()
        return int(pages - free) * int(size)

    def used_bytes(self) -> int:
        with self._lock:
            return self._used_bytes()

    def ping(self) -> None:
        """Read one row; raises sqlite3.Error when the store cannot be read."""
        with self._lock:
            self._db.execute("SELECT 1 FROM spans LIMIT 1").fetchall()

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM spans").fetchone()
        return int(n)

    # -- reading --------------------------------------------------------------------------------
    def search(self, query: TraceQuery) -> list[Trace]:
        """Traces fitting the query, newest first: one group per trace, no correlated lookups.

        The window is walked backwards in growing slices (FIRST_SLICE, then four times as long each
        time) until `limit` traces are found: a busy store holds many thousands of traces an hour,
        and "the newest five" should not group them all.
        """
        found: list[Trace] = []
        hi, width = query.end_ns, FIRST_SLICE_NS
        while hi > query.start_ns and len(found) < query.limit:
            lo = max(query.start_ns, hi - width)
            found += self._search_slice(query, lo, hi, query.limit - len(found))
            hi, width = lo, width * 4
        return found

    def _search_slice(self, query: TraceQuery, lo: int, hi: int, limit: int) -> list[Trace]:
        """Traces fitting the query whose first span starts in [lo, hi), newest first, at most `limit`."""
        having = ["min(start_ns) >= ?", "min(start_ns) < ?", "max(end_ns) - min(start_ns) >= ?"]
        args: list[object] = [lo, hi, query.min_duration_ns]
        if query.max_duration_ns:
            having.append("max(end_ns) - min(start_ns) <= ?")
            args.append(query.max_duration_ns)
        # "Some span of the trace has ..." is max(condition) over the trace's spans.
        if query.service:
            having.append("max(service = ?) = 1")
            args.append(query.service)
        if query.operation:
            having.append("max(name = ?) = 1")
            args.append(query.operation)
        if query.errors_only:
            having.append("max(status_code = ?) = 1")
            args.append(STATUS_ERROR)
        if query.attributes:
            # One span must carry every attribute asked for.
            conds = " AND ".join("json_extract(attributes, ?) IS ?" for _ in query.attributes)
            having.append(f"max({conds}) = 1")
            for key, value in query.attributes:
                args.extend([f'$."{key}"', value])
        sql = (
            # Only traces with a span starting in the slice can start in it: the start index narrows.
            "SELECT trace_id FROM spans"
            " WHERE trace_id IN (SELECT trace_id FROM spans WHERE start_ns >= ? AND start_ns < ?)"
            " GROUP BY trace_id HAVING " + " AND ".join(having) + " ORDER BY min(start_ns) DESC LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, [lo, hi, *args, limit]).fetchall()
            return [t for t in (self._load(r[0]) for r in rows) if t is not None]

    def get(self, trace_id: str) -> Trace | None:
        with self._lock:
            return self._load(trace_id)

    def _load(self, trace_id: str) -> Trace | None:
        rows = self._db.execute("SELECT * FROM spans WHERE trace_id = ?", (trace_id,)).fetchall()
        return Trace.of(trace_id, [_span(r) for r in rows]) if rows else None


class LocalTraces:
    """TraceBackend over the SQLite store; queries run on the store's thread."""

    def __init__(self, store: SpanStore) -> None:
        self.store = store

    def url(self, trace_id: str) -> str:
        return self.store.url(trace_id)

    async def find(self, query: TraceQuery) -> list[Trace]:
        return await self.store.call(lambda: self.store.search(query))

    async def get(self, trace_id: str) -> Trace | None:
        return await self.store.call(lambda: self.store.get(trace_id))

    async def check(self) -> None:
        try:
            await self.store.call(self.store.ping)
        except sqlite3.Error as exc:
            raise OpsError(
                BACKEND_FAILED, f"the local trace store cannot be read: {exc}", backend=NAME
            ) from None
