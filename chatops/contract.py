"""The command table of the bus contract: each command's name, subject and message types."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from chatops.subjects import command_subject
from chatops.v1 import alerts_pb2, audit_pb2, sampling_pb2, traces_pb2, version_pb2


@dataclass(frozen=True)
class Command:
    """One command on the bus: `name` is `<noun>.<verb>`."""

    name: str
    request: type[Message]
    reply: type[Message]
    changes: bool  # changes the system: admins only, confirmed first
    summary: str

    @property
    def subject(self) -> str:
        return command_subject(self.name)


COMMANDS: tuple[Command, ...] = (
    Command(
        "traces.list",
        traces_pb2.ListTracesRequest,
        traces_pb2.ListTracesReply,
        False,
        "List recent traces, newest first.",
    ),
    Command(
        "traces.show", traces_pb2.ShowTraceRequest, traces_pb2.ShowTraceReply, False, "Summarise one trace."
    ),
    Command(
        "traces.logs",
        traces_pb2.ShowLogsRequest,
        traces_pb2.ShowLogsReply,
        False,
        "The span events (log lines) of one trace, in time order.",
    ),
    Command(
        "sampling.get",
        sampling_pb2.GetSamplingRequest,
        sampling_pb2.GetSamplingReply,
        False,
        "The petstore's trace sampler.",
    ),
    Command(
        "sampling.set",
        sampling_pb2.SetSamplingRequest,
        sampling_pb2.SetSamplingReply,
        True,
        "Switch the petstore's trace sampler.",
    ),
    Command(
        "version.get",
        version_pb2.GetVersionRequest,
        version_pb2.GetVersionReply,
        False,
        "Every deployed version and its instance count, from Prometheus.",
    ),
    Command(
        "alerts.list",
        alerts_pb2.ListAlertsRequest,
        alerts_pb2.ListAlertsReply,
        False,
        "Active alerts from Prometheus, filtered by labels and state.",
    ),
    Command(
        "silences.create",
        alerts_pb2.CreateSilenceRequest,
        alerts_pb2.CreateSilenceReply,
        True,
        "Silence alerts in Alertmanager.",
    ),
    Command(
        "audit.list", audit_pb2.ListAuditRequest, audit_pb2.ListAuditReply, False, "Read the audit log back."
    ),
)

BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}


def command(name: str) -> Command:
    """Look a command up by name; KeyError names it when unknown."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown command {name!r}") from None
