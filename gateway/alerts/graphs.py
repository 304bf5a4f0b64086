"""A graph in the thread of each new alert message: the rule's expression over the last hour.

The alert message itself never waits for it: delivery hands the posted message over (`after_post`, a
put into a bounded queue) and goes on; a worker asks ops for the graph and shares it in the thread.
A graph that fails, or that the queue has no room for, is logged and counted, and nothing else happens:
the alert message is already posted and recorded, so it is neither lost nor posted again.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter

from chatops import logs
from chatops.bus import Caller, CommandError
from chatops.contract import GRAPH_RENDER
from chatops.durations import duration_text
from chatops.v1 import graphs_pb2
from chatops.v1.events_pb2 import AlertNotification
from gateway.alerts.expression import Graphable, expression_of, split_threshold
from gateway.flow import Asker, new_traceparent
from gateway.render.replies import render_graph
from gateway.render.slack import to_upload
from gateway.slack.chat import Chat, ChatError

log = logs.get_logger(__name__)

RANGE = timedelta(hours=1)
MAX_GRAPHS = 3  # distinct rule expressions graphed for one alert group
ACTOR = "gateway:alert-graphs"  # who asks ops, in the audit log: no person asked for these graphs


@dataclass(frozen=True)
class GraphJob:
    """One graph to share: where (the alert message's thread), of what, and named after which alert."""

    channel: str
    thread_ts: str
    alertname: str
    graphable: Graphable


def jobs_for(note: AlertNotification, channel: str, thread_ts: str) -> list[GraphJob]:
    """One job per distinct expression among the alerts' generatorURLs (pure)."""
    jobs: list[GraphJob] = []
    seen: set[str] = set()
    for alert in note.alerts:
        expr = expression_of(alert.generator_url)
        if not expr or expr in seen:
            continue
        seen.add(expr)
        name = alert.labels.get("alertname", "") or note.common_labels.get("alertname", "")
        jobs.append(GraphJob(channel, thread_ts, name, split_threshold(expr)))
        if len(jobs) == MAX_GRAPHS:
            break
    return jobs


def graph_request(job: GraphJob) -> graphs_pb2.RenderGraphRequest:
    """The last hour of the rule's expression, with its threshold line."""
    g = job.graphable
    title = f"{job.alertname}: {' '.join(g.query.split())}" if job.alertname else ""
    req = graphs_pb2.RenderGraphRequest(query=g.query, title=title[:200])
    req.range.FromTimedelta(RANGE)
    if g.threshold is not None:
        req.thresholds.append(g.threshold)
    return req


class AlertGraphs:
    """Shares alert graphs from a bounded queue, `workers` at a time; `after_post` never waits."""

    def __init__(
        self,
        *,
        chat: Chat,
        ask: Asker,
        registry: CollectorRegistry | None = None,
        queue_size: int = 20,
        workers: int = 1,
    ) -> None:
        self.chat, self.ask, self.workers = chat, ask, workers
        self._queue: asyncio.Queue[GraphJob] = asyncio.Queue(maxsize=queue_size)
        self._tasks: list[asyncio.Task[None]] = []
        self.registry = registry or CollectorRegistry()
        self.outcomes = Counter(
            "chatops_gateway_alert_graphs",
            "Graphs for new alert messages, by outcome (shared, failed, dropped: the queue was full)",
            ["outcome"],
            registry=self.registry,
        )

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._work(), name=f"alert-graphs-{i}") for i in range(self.workers)
            ]

    async def stop(self) -> None:
        """Stop at once: graphs not yet shared are given up (the alerts themselves are all posted)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def after_post(self, note: AlertNotification, channel: str, ts: str) -> None:
        """Queue the graphs of a message just posted; never blocks, never raises."""
        try:
            for job in jobs_for(note, channel, ts):
                try:
                    self._queue.put_nowait(job)
                except asyncio.QueueFull:
                    self.outcomes.labels("dropped").inc()
                    log.warning("alerts.graph_dropped", channel=channel, ts=ts, reason="queue full")
        except Exception:  # a graph is a nicety: nothing here may disturb delivery
            log.exception("alerts.graph_not_queued", channel=channel, ts=ts)

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self.share(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.outcomes.labels("failed").inc()
                log.exception("alerts.graph_crashed", channel=job.channel, ts=job.thread_ts)
            finally:
                self._queue.task_done()

    async def share(self, job: GraphJob) -> bool:
        """Ask ops for the graph and share it in the thread; False (logged, counted) when that fails."""
        caller = Caller(
            actor=ACTOR,
            actor_name="alert graphs",
            channel=job.channel,
            source="alerts",
            traceparent=new_traceparent(),
        )
        try:
            reply = await self.ask(GRAPH_RENDER, graph_request(job), caller)
            assert isinstance(reply, graphs_pb2.RenderGraphReply)
            doc = render_graph(reply)
            upload = to_upload(replace(doc, title=self._title(job)))
            assert upload is not None
            await self.chat.upload(job.channel, upload, job.thread_ts)
        except (CommandError, ChatError) as exc:
            self.outcomes.labels("failed").inc()
            log.warning(
                "alerts.graph_failed",
                channel=job.channel,
                ts=job.thread_ts,
                query=job.graphable.query,
                error=str(exc),
                request_id=caller.request_id,
            )
            return False
        self.outcomes.labels("shared").inc()
        log.info("alerts.graph_shared", channel=job.channel, ts=job.thread_ts, request_id=caller.request_id)
        return True

    @staticmethod
    def _title(job: GraphJob) -> str:
        g = job.graphable
        line = f" (the red line: {g.threshold:g}, where the rule fires)" if g.threshold is not None else ""
        query = " ".join(g.query.split())
        return f"{job.alertname or 'The alert'} over the last {duration_text(RANGE)}: `{query}`{line}"
