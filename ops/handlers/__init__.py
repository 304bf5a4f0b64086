"""One async handler per command, `Request -> Reply`, raising OpsError; HANDLERS maps command names."""

from __future__ import annotations

from ops.deps import Handler
from ops.handlers import alerts, audit, sampling, silences, traces, version

HANDLERS: dict[str, Handler] = {
    "traces.list": traces.list_traces,
    "traces.show": traces.show_trace,
    "traces.logs": traces.show_logs,
    "sampling.get": sampling.get_sampling,
    "sampling.set": sampling.set_sampling,
    "version.get": version.get_version,
    "alerts.list": alerts.list_alerts,
    "silences.create": silences.create_silence,
    "audit.list": audit.list_audit,
}
