"""Pure renderers: each command's reply -> a Doc (bound to their commands in gateway.commands.table)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from chatops import samplers
from chatops.durations import duration_text
from chatops.v1 import alerts_pb2, audit_pb2, graphs_pb2, sampling_pb2, traces_pb2, version_pb2
from gateway.render.doc import Doc, Fields, Image, Link, Links, Para, Part, Table, counted, took, when


def _time(ts: Timestamp, present: bool = True) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present and (ts.seconds or ts.nanos) else None


def _labels(labels: Mapping[str, str], skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in skip)


def _omitted(reply: Message) -> tuple[Part, ...]:
    """ "… N more" when ops left items out so that its reply fit the bus."""
    n = getattr(reply, "omitted", 0)
    if not n:
        return ()
    return (Para(f"… {n} more not shown: the whole answer is too big to send over the bus."),)


def sampler_text(sampler: sampling_pb2.Sampler) -> str:
    """`always`, `never`, `float 0.25`."""
    kind = samplers.KIND.get(sampler.type, "unknown")
    return f"{kind} {sampler.rate:g}" if kind == samplers.RATED else kind


def list_traces(reply: traces_pb2.ListTracesReply) -> Doc:
    if not reply.traces:
        return Doc("No traces match.", (Para("Widen the window with `since=` or drop a filter."),))
    rows = tuple(
        (
            when(_time(t.start)),
            t.trace_id,
            t.root_operation,
            took(t.duration.ToTimedelta()),
            str(t.span_count),
            "yes" if t.has_errors else "",
        )
        for t in reply.traces
    )
    table = Table(("start (UTC)", "trace id", "operation", "duration", "spans", "errors"), rows)
    parts: list[Part] = [table]
    links = tuple(Link(t.trace_id, t.url) for t in reply.traces if t.url)
    if links:
        parts.append(Links(links))
    parts.extend(_omitted(reply))
    parts.append(Para("Say `show trace <id>` for one of them; pasting a link above works too."))
    return Doc(f"{counted(len(rows), 'trace')}, newest first:", tuple(parts))


def show_trace(reply: traces_pb2.ShowTraceReply) -> Doc:
    parts: list[Part] = [
        Fields(
            (
                ("started (UTC)", when(_time(reply.start))),
                ("duration", took(reply.duration.ToTimedelta())),
                ("spans", str(reply.span_count)),
                ("slowest span", f"{reply.longest_operation} ({took(reply.longest_span.ToTimedelta())})"),
            )
        ),
        Para("*Operations:* " + ", ".join(f"`{o}`" for o in reply.operations)),
    ]
    if reply.errors:
        parts.append(Para("*Errors:* " + "; ".join(reply.errors)))
    if reply.attribute_keys:
        parts.append(Para("*Attributes:* " + ", ".join(reply.attribute_keys)))
    parts.extend(_omitted(reply))
    if reply.url:
        parts.append(Link("open the trace", reply.url))
    return Doc(f"Trace {reply.trace_id}", tuple(parts))


def show_logs(reply: traces_pb2.ShowLogsReply) -> Doc:
    if not reply.logs:
        return Doc(f"Trace {reply.trace_id} has no log lines.")
    rows = tuple((when(_time(e.time)), e.operation, e.message, _labels(e.attributes)) for e in reply.logs)
    table = Table(("time (UTC)", "operation", "message", "attributes"), rows)
    return Doc(f"{counted(len(rows), 'log line')} of trace {reply.trace_id}:", (table, *_omitted(reply)))


def get_sampling(reply: sampling_pb2.GetSamplingReply) -> Doc:
    return Doc(f"The petstore samples traces with: {sampler_text(reply.sampler)}")


def set_sampling(reply: sampling_pb2.SetSamplingReply) -> Doc:
    before, now = sampler_text(reply.previous), sampler_text(reply.current)
    return Doc(f"Sampling changed from {before} to {now}.")


def get_version(reply: version_pb2.GetVersionReply) -> Doc:
    if not reply.versions:
        return Doc("No instance reports a version.", (Para("Is the petstore up and scraped by Prometheus?"),))
    rows = tuple((v.version, str(v.instances), ", ".join(v.instance_names)) for v in reply.versions)
    title = (
        f"Deployed version: {reply.versions[0].version}"
        if len(rows) == 1
        else f"{len(rows)} versions are live (a rollout is under way):"
    )
    return Doc(title, (Table(("version", "instances", "where"), rows), *_omitted(reply)))


def list_alerts(reply: alerts_pb2.ListAlertsReply) -> Doc:
    if not reply.alerts:
        return Doc("No active alerts.")
    states = {alerts_pb2.ALERT_STATE_FIRING: "firing", alerts_pb2.ALERT_STATE_PENDING: "pending"}
    rows = tuple(
        (
            a.name,
            states.get(a.state, "?"),
            when(_time(a.active_at)),
            _labels(a.labels, ("alertname",)),
            a.value,
        )
        for a in reply.alerts
    )
    table = Table(("alert", "state", "since (UTC)", "labels", "value"), rows)
    return Doc(f"{counted(len(rows), 'active alert')}:", (table, *_omitted(reply)))


def create_silence(reply: alerts_pb2.CreateSilenceReply) -> Doc:
    parts: list[Part] = [
        Fields(
            (
                ("silence id", reply.silence_id),
                ("until (UTC)", when(_time(reply.ends_at))),
                ("created by", reply.created_by),
            )
        )
    ]
    if reply.url:
        parts.append(Link("open in Alertmanager", reply.url))
    return Doc("Silenced.", tuple(parts))


def _unsearched(reply: audit_pb2.ListAuditReply) -> tuple[Part, ...]:
    if not reply.unsearched:
        return ()
    back_to = _time(reply.searched_back_to, reply.HasField("searched_back_to"))
    since = f" (back to {when(back_to)} UTC)" if back_to else ""
    return (Para(f"Only the newest events were searched{since}: {reply.unsearched} older events were not."),)


def list_audit(reply: audit_pb2.ListAuditReply) -> Doc:
    if not reply.events:
        return Doc("Nothing in the audit log matches.", _unsearched(reply))
    rows = tuple(
        (
            when(_time(e.time)),
            e.actor_name or e.actor,
            e.command,
            e.outcome if not e.error_code else f"{e.outcome} {e.error_code}",
            e.channel,
            took(e.duration.ToTimedelta()),
        )
        for e in reply.events
    )
    table = Table(("time (UTC)", "who", "command", "outcome", "channel", "took"), rows)
    parts = (table, *_omitted(reply), *_unsearched(reply))
    return Doc(f"{counted(len(rows), 'audit event')}, newest first:", parts)


def render_graph(reply: graphs_pb2.RenderGraphReply) -> Doc:
    """The graph as a picture, with a line that says what it shows."""
    start, end = _time(reply.start), _time(reply.end)
    span = duration_text(end - start) if start and end else "?"
    shown = (
        f"the top {reply.series_shown} of {reply.series_total} series by last value"
        if reply.series_total > reply.series_shown
        else f"{reply.series_shown} series"
    )
    step = duration_text(reply.step.ToTimedelta())
    stamp = end.strftime("%Y%m%d-%H%M%S") if end else "now"
    ending = when(end)[:16] if end else "now"
    image = Image(
        reply.png,
        f"graph-{stamp}.png",
        f"Graph of {reply.query} over {span} to {ending} UTC",
        reply.width,
        reply.height,
    )
    return Doc(
        f"Graph of `{reply.query}`",
        (Para(f"{shown}, {span} to {ending} UTC, one point every {step}"),),
        image=image,
    )
