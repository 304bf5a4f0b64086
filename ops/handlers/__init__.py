"""One async handler per command, `Request -> Reply`, raising OpsError; HANDLERS maps command names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from chatops import contract as c
from chatops.contract import OPS, Command, Rep, Req, check_complete, served_by
from ops.context import CallContext
from ops.deps import Deps, Handler
from ops.handlers import (
    acks,
    alerts,
    audit,
    deadletters,
    graph,
    sampling,
    silences,
    timeline,
    traces,
    version,
)


def handles(
    command: Command[Req, Rep], handler: Callable[[Deps, CallContext, Req], Awaitable[Rep]]
) -> tuple[str, Handler]:
    """One entry of HANDLERS; mypy checks the handler takes the command's request and returns its reply."""
    return command.name, handler


HANDLERS: dict[str, Handler] = dict(
    [
        handles(c.TRACES_LIST, traces.list_traces),
        handles(c.TRACES_SHOW, traces.show_trace),
        handles(c.TRACES_LOGS, traces.show_logs),
        handles(c.SAMPLING_GET, sampling.get_sampling),
        handles(c.SAMPLING_SET, sampling.set_sampling),
        handles(c.VERSION_GET, version.get_version),
        handles(c.ALERTS_LIST, alerts.list_alerts),
        handles(c.SILENCES_CREATE, silences.create_silence),
        handles(c.ALERTS_ACK, acks.ack),
        handles(c.ALERTS_UNACK, acks.unack),
        handles(c.TIMELINE_SHOW, timeline.show_timeline),
        handles(c.AUDIT_LIST, audit.list_audit),
        handles(c.GRAPH_RENDER, graph.render_graph),
        handles(c.DEADLETTERS_LIST, deadletters.list_dead_letters),
        handles(c.DEADLETTERS_REPLAY, deadletters.replay_dead_letters),
    ]
)
check_complete("handler", HANDLERS, served_by(OPS))
