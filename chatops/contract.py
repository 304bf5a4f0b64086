"""The command table of the bus contract: each command's name, subject and message types.

Adding a command: its request and reply messages in proto/chatops/v1/, one `Command` constant here
and in COMMANDS, with the server that answers it; then the import-time checks (`check_complete`)
name every table that still lacks it: that server's handlers, the gateway's chat commands and
renderers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from chatops.subjects import (
    DEPLOYER_QUEUE_GROUP,
    DEPLOYER_SERVICE_NAME,
    QUEUE_GROUP,
    SERVICE_NAME,
    command_subject,
)
from chatops.v1 import (
    alerts_pb2,
    audit_pb2,
    cards_pb2,
    deadletters_pb2,
    deploys_pb2,
    graphs_pb2,
    sampling_pb2,
    traces_pb2,
    version_pb2,
)


@dataclass(frozen=True)
class Server:
    """A micro service that answers commands: its name and the queue group its replicas share."""

    name: str
    queue_group: str
    title: str  # how a person calls it: "the Ops service"


OPS = Server(SERVICE_NAME, QUEUE_GROUP, "the Ops service")
DEPLOYER = Server(DEPLOYER_SERVICE_NAME, DEPLOYER_QUEUE_GROUP, "the deployer")

Req = TypeVar("Req", bound=Message)
Rep = TypeVar("Rep", bound=Message)


@dataclass(frozen=True)
class Command(Generic[Req, Rep]):
    """One command on the bus: `name` is `<noun>.<verb>`; its request and reply message types."""

    name: str
    request: type[Req]
    reply: type[Rep]
    changes: bool  # changes the system: admins only, confirmed first
    summary: str
    server: Server = OPS  # who answers it

    @property
    def subject(self) -> str:
        return command_subject(self.name)


TRACES_LIST = Command(
    "traces.list",
    traces_pb2.ListTracesRequest,
    traces_pb2.ListTracesReply,
    False,
    "List recent traces, newest first.",
)
TRACES_SHOW = Command(
    "traces.show", traces_pb2.ShowTraceRequest, traces_pb2.ShowTraceReply, False, "Summarise one trace."
)
TRACES_LOGS = Command(
    "traces.logs",
    traces_pb2.ShowLogsRequest,
    traces_pb2.ShowLogsReply,
    False,
    "The span events (log lines) of one trace, in time order.",
)
SAMPLING_GET = Command(
    "sampling.get",
    sampling_pb2.GetSamplingRequest,
    sampling_pb2.GetSamplingReply,
    False,
    "The petstore's trace sampler.",
)
SAMPLING_SET = Command(
    "sampling.set",
    sampling_pb2.SetSamplingRequest,
    sampling_pb2.SetSamplingReply,
    True,
    "Switch the petstore's trace sampler.",
)
VERSION_GET = Command(
    "version.get",
    version_pb2.GetVersionRequest,
    version_pb2.GetVersionReply,
    False,
    "Every deployed version and its instance count, from Prometheus.",
)
ALERTS_LIST = Command(
    "alerts.list",
    alerts_pb2.ListAlertsRequest,
    alerts_pb2.ListAlertsReply,
    False,
    "Active alerts from Prometheus, filtered by labels and state.",
)
SILENCES_CREATE = Command(
    "silences.create",
    alerts_pb2.CreateSilenceRequest,
    alerts_pb2.CreateSilenceReply,
    True,
    "Silence alerts in Alertmanager.",
)
ALERTS_ACK = Command(
    "alerts.ack",
    cards_pb2.AckAlertRequest,
    cards_pb2.AckAlertReply,
    False,  # anyone on call may say they are on it; it changes no system, only the card
    "Acknowledge an alert card: you are on it, and it is no longer re-announced.",
)
ALERTS_UNACK = Command(
    "alerts.unack",
    cards_pb2.AckAlertRequest,
    cards_pb2.AckAlertReply,
    False,
    "Take an acknowledgement back: the alert card is re-announced again while it fires.",
)
TIMELINE_SHOW = Command(
    "timeline.show",
    cards_pb2.TimelineRequest,
    cards_pb2.TimelineReply,
    False,
    "What happened around an incident, in order: alerts, acks, silences, commands and deploys.",
)
AUDIT_LIST = Command(
    "audit.list", audit_pb2.ListAuditRequest, audit_pb2.ListAuditReply, False, "Read the audit log back."
)
GRAPH_RENDER = Command(
    "graph.render",
    graphs_pb2.RenderGraphRequest,
    graphs_pb2.RenderGraphReply,
    False,
    "Draw a Prometheus range query as a PNG.",
)
DEADLETTERS_LIST = Command(
    "deadletters.list",
    deadletters_pb2.ListDeadLettersRequest,
    deadletters_pb2.ListDeadLettersReply,
    False,
    "The alert notifications delivery gave up on, with the reason, newest first.",
)
DEADLETTERS_REPLAY = Command(
    "deadletters.replay",
    deadletters_pb2.ReplayDeadLettersRequest,
    deadletters_pb2.ReplayDeadLettersReply,
    True,
    "Send dead-lettered alert notifications to chat again.",
)
DEPLOYS_START = Command(
    "deploys.start",
    deploys_pb2.StartDeployRequest,
    deploys_pb2.StartDeployReply,
    True,
    "Roll a version of a service out, canary first; its steps follow as events.",
    DEPLOYER,
)
DEPLOYS_ROLLBACK = Command(
    "deploys.rollback",
    deploys_pb2.RollbackRequest,
    deploys_pb2.RollbackReply,
    True,
    "Put a service back on the version live before the current one.",
    DEPLOYER,
)
DEPLOYS_LIST = Command(
    "deploys.list",
    deploys_pb2.ListDeploysRequest,
    deploys_pb2.ListDeploysReply,
    False,
    "Recent deploys: who, what, when and the outcome.",
    DEPLOYER,
)
DEPLOYS_STATUS = Command(
    "deploys.status",
    deploys_pb2.ReleaseStatusRequest,
    deploys_pb2.ReleaseStatusReply,
    False,
    "Which release has a commit or version, and whether it is live, where and since when.",
    DEPLOYER,
)

COMMANDS: tuple[Command[Any, Any], ...] = (
    TRACES_LIST,
    TRACES_SHOW,
    TRACES_LOGS,
    SAMPLING_GET,
    SAMPLING_SET,
    VERSION_GET,
    ALERTS_LIST,
    SILENCES_CREATE,
    ALERTS_ACK,
    ALERTS_UNACK,
    TIMELINE_SHOW,
    AUDIT_LIST,
    GRAPH_RENDER,
    DEADLETTERS_LIST,
    DEADLETTERS_REPLAY,
    DEPLOYS_START,
    DEPLOYS_ROLLBACK,
    DEPLOYS_LIST,
    DEPLOYS_STATUS,
)

BY_NAME: dict[str, Command[Any, Any]] = {c.name: c for c in COMMANDS}


def served_by(server: Server) -> tuple[Command[Any, Any], ...]:
    """The commands one micro service answers."""
    return tuple(c for c in COMMANDS if c.server == server)


def command(name: str) -> Command[Any, Any]:
    """Look a command up by name; KeyError names it when unknown."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown command {name!r}") from None


def check_complete(what: str, names: Iterable[str], commands: Iterable[Command[Any, Any]] = COMMANDS) -> None:
    """Raise ValueError unless `names` holds every command exactly once and nothing else.

    Each table keyed by command (ops' handlers, the gateway's chat commands) calls this when it is
    imported, so a command added to the contract but not to a table stops the process at once.
    """
    given = list(names)
    wanted = [c.name for c in commands]
    missing = [n for n in wanted if n not in given]
    unknown = sorted({n for n in given if n not in wanted})
    repeated = sorted({n for n in given if given.count(n) > 1})
    problems = []
    if missing:
        problems.append(f"no {what} for {', '.join(missing)}")
    if unknown:
        problems.append(f"{what} for unknown command {', '.join(unknown)}")
    if repeated:
        problems.append(f"more than one {what} for {', '.join(repeated)}")
    if problems:
        raise ValueError("; ".join(problems))
