"""The one table of chat commands: words and help, the bus command, its request builder and renderer.

It drives matching, help text, the README's command list and rendering; every command of the
contract must have exactly one entry (checked on import).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.protobuf.message import Message

from chatops import contract as c
from chatops import samplers
from chatops.contract import Command, Rep, Req, check_complete
from gateway.commands import builders
from gateway.render import cards, deadletters, deploys, replies
from gateway.render.doc import Doc

Build = Callable[[str, datetime], Message]
Render = Callable[[Any], Doc]


@dataclass(frozen=True)
class Spec:
    """One chat command: the words that start it, the bus command it sends, and its help."""

    phrase: str
    command: Command[Any, Any] | None  # None: answered by the gateway itself (help)
    usage: str
    summary: str
    examples: tuple[str, ...]
    build: Build | None
    render: Render | None
    details: tuple[str, ...] = ()
    # The reply only says the change began; its progress arrives later as events (deploys).
    progress_in_events: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.phrase.split())

    @property
    def changes(self) -> bool:
        return self.command is not None and self.command.changes


def spec(
    phrase: str,
    command: Command[Req, Rep],
    usage: str,
    summary: str,
    examples: tuple[str, ...],
    build: Callable[[str, datetime], Req],
    render: Callable[[Rep], Doc],
    details: tuple[str, ...] = (),
    *,
    progress_in_events: bool = False,
) -> Spec:
    """A chat command for a bus command; mypy checks that `build` and `render` fit its messages."""
    return Spec(phrase, command, usage, summary, examples, build, render, details, progress_in_events)


SPECS: tuple[Spec, ...] = (
    Spec(
        "help",
        None,
        "help [command]",
        "List the commands, or explain one.",
        ("help", "help list traces"),
        None,
        None,
    ),
    spec(
        "list traces",
        c.TRACES_LIST,
        "list traces [operation=X] [start=MM/DD/YYYY-HH:MM:SS] [end=…|now] [since=15m] [limit=N] "
        "[tags=[a,b]] [service=X] [min=D] [max=D]",
        "List recent traces, newest first.",
        ("list traces since=15m limit=5", "list traces operation=/petstore.v1.PetStore/AddPets tags=[error]"),
        builders.list_traces,
        replies.list_traces,
        (
            "`operation=` only traces with a span of this operation",
            "`start=` / `end=` the window in UTC as MM/DD/YYYY-HH:MM:SS; `end=now` is the default",
            "`since=` a window ending now, e.g. 15m, 2h, 1d (instead of `start=`)",
            "`limit=` how many, 1 to 100 (default 20)",
            "`tags=` attribute filters like [error,http.status_code=500]",
            "`min=` / `max=` only traces at least / at most this long, e.g. 250ms",
        ),
    ),
    spec(
        "show trace",
        c.TRACES_SHOW,
        "show trace <id>",
        "Summarise one trace: operations, errors, the slowest span.",
        ("show trace 4bf92f3577b34da6a3ce929d0e0e4736",),
        builders.show_trace,
        replies.show_trace,
        ("A trace id is 16 or 32 hex digits; a link pasted from `list traces` works too.",),
    ),
    spec(
        "show logs",
        c.TRACES_LOGS,
        "show logs <id>",
        "The log lines (span events) of one trace, in time order.",
        ("show logs 4bf92f3577b34da6a3ce929d0e0e4736",),
        builders.show_logs,
        replies.show_logs,
    ),
    spec(
        "show sampling",
        c.SAMPLING_GET,
        "show sampling",
        "The petstore's trace sampler in force.",
        ("show sampling",),
        builders.show_sampling,
        replies.get_sampling,
    ),
    spec(
        "change sampling",
        c.SAMPLING_SET,
        f"change sampling {'|'.join(samplers.forms(samplers.KINDS, ' <rate>'))}",
        "Switch the petstore's trace sampler (admins; asks to confirm).",
        ("change sampling float 0.25", "change sampling always"),
        builders.change_sampling,
        replies.set_sampling,
        ("`float <rate>` traces that fraction of requests, more than 0 and at most 1.",),
    ),
    spec(
        "deployed version",
        c.VERSION_GET,
        "deployed version [job=X]",
        "Every version of the petstore that is live, and on how many instances.",
        ("deployed version",),
        builders.deployed_version,
        replies.get_version,
    ),
    spec(
        "alerts",
        c.ALERTS_LIST,
        "alerts [labels=[a=b,c]] [state=firing|pending] [since=1h]",
        "Active alerts from Prometheus.",
        ("alerts state=firing", "alerts labels=[severity=critical]"),
        builders.alerts,
        replies.list_alerts,
        (
            "`labels=` filters: `key`, `key=value`, `key!=value`, `key=~regex`",
            "`state=` firing or pending",
            "`since=` only alerts that became active within this window, e.g. 1h",
        ),
    ),
    spec(
        "silence",
        c.SILENCES_CREATE,
        "silence <matchers> for=<duration> [comment…]",
        "Silence alerts in Alertmanager (admins; asks to confirm).",
        ("silence alertname=PetstoreErrorRatioHigh for=2h deploying the fix",),
        builders.silence,
        replies.create_silence,
        (
            "matchers: `name=value`, `name!=value`, `name=~regex`, `name!~regex`",
            "`for=` from 1m to 30d; the words after it are the comment",
        ),
    ),
    spec(
        "ack",
        c.ALERTS_ACK,
        "ack <alert>",
        "Acknowledge an alert: you are on it, the card says so, and it is no longer re-announced.",
        ("ack 3fa2c1d0", "ack PetstoreErrorRatioHigh"),
        builders.ack,
        cards.ack_reply,
        (
            "`<alert>` the ref shown on the alert's card (6 or more of its hex digits), or the alert's name "
            "when only one firing card carries it",
            "The Ack button on the card does the same.",
        ),
    ),
    spec(
        "unack",
        c.ALERTS_UNACK,
        "unack <alert>",
        "Take an acknowledgement back: the alert is re-announced again while it fires.",
        ("unack 3fa2c1d0",),
        builders.unack,
        cards.ack_reply,
    ),
    spec(
        "timeline",
        c.TIMELINE_SHOW,
        "timeline [since=2h] [alert=…] [limit=N]",
        "What happened around an incident, in order: alerts, acks, silences, commands and deploys; "
        "with the same as Markdown for the post-mortem.",
        ("timeline since=1h", "timeline alert=PetstoreErrorRatioHigh since=6h"),
        builders.timeline,
        cards.timeline,
        (
            "`since=` how far back, 1m to 7d (default 2h)",
            "`alert=` only that alert's notifications, acks and silences (a card's ref or an alert name); "
            "commands and deploys are always listed",
            "`limit=` at most this many events, 1 to 500 (default 200)",
        ),
    ),
    spec(
        "history",
        c.AUDIT_LIST,
        "history [limit=N] [user=@someone] [command=…] [since=1d]",
        "Who ran what: the audit log, newest first.",
        ("history limit=10", "history command=sampling.set since=1d"),
        builders.history,
        replies.list_audit,
        (
            "`user=` mention someone (@alice in Slack), or an actor like slack:U024BE7LH or console:alice",
            "`command=` a bus command like sampling.set, or a noun like sampling",
        ),
    ),
    spec(
        "graph",
        c.GRAPH_RENDER,
        "graph <PromQL> [for=1h] [step=…]",
        "Draw a Prometheus query as a graph, posted as a picture in the thread.",
        (
            "graph rate(petstore_requests_total[1m])",
            "graph sum by (method) (rate(petstore_request_errors_total[5m])) for=6h",
        ),
        builders.graph,
        replies.render_graph,
        (
            "`for=` how far back, e.g. 30m, 6h, 2d (default 1h; ops allows at most 7d unless configured)",
            "`step=` one point every so often, e.g. 30s (default: about 240 points; at most 1000)",
            "At most 10 series are drawn: those with the highest last value; times are UTC.",
        ),
    ),
    spec(
        "dead letters",
        c.DEADLETTERS_LIST,
        "dead letters [limit=N] [replayed=yes]",
        "Alert notifications that could not be delivered to chat, and why.",
        ("dead letters", "dead letters replayed=yes limit=50"),
        builders.dead_letters,
        deadletters.list_dead_letters,
        (
            "`limit=` how many, 1 to 100 (default 20)",
            "`replayed=yes` also those already sent again",
            "A notification goes there when Slack refused its channel or the bot's token for "
            "`ALERTS_DEADLETTER_AFTER`, or when no form of it is accepted.",
        ),
    ),
    spec(
        "replay dead letters",
        c.DEADLETTERS_REPLAY,
        "replay dead letters <id>… | all",
        "Send dead-lettered alert notifications to chat again, once the cause is fixed (admins; asks to "
        "confirm).",
        ("replay dead letters 12", "replay dead letters all"),
        builders.replay_dead_letters,
        deadletters.replay_dead_letters,
        ("The ids are those `dead letters` shows; `all` is every one not sent again yet.",),
    ),
    spec(
        "deploy",
        c.DEPLOYS_START,
        "deploy <service> <version>",
        "Roll a release out, canary first; rolled back by itself if the canary fails (admins; asks to "
        "confirm).",
        ("deploy petstore 0.2.0",),
        builders.deploy,
        deploys.start_deploy,
        (
            "The versions are those of the release manifest (`releases.yaml`).",
            "One message in the thread follows the rollout: the canary, its settling window, then the rest.",
        ),
        progress_in_events=True,
    ),
    spec(
        "rollback",
        c.DEPLOYS_ROLLBACK,
        "rollback <service>",
        "Put a service back on the version it ran before the current one (admins; asks to confirm).",
        ("rollback petstore",),
        builders.rollback,
        deploys.rollback,
        progress_in_events=True,
    ),
    spec(
        "deploys",
        c.DEPLOYS_LIST,
        "deploys [limit=N]",
        "Recent deploys, newest first: who, what, when and how it ended.",
        ("deploys", "deploys limit=5"),
        builders.deploys,
        deploys.list_deploys,
        ("`limit=` how many, 1 to 100 (default 10)",),
    ),
    spec(
        "release status",
        c.DEPLOYS_STATUS,
        "release status <commit id or prefix | version>",
        "Is my change live? Which release has a commit, whether it runs, on how many instances, since when.",
        ("release status 85c5e41", "release status 0.2.0"),
        builders.release_status,
        deploys.release_status,
        ("A commit prefix needs at least 4 hex digits.",),
    ),
)

BY_PHRASE: dict[str, Spec] = {s.phrase: s for s in SPECS}
BY_COMMAND: dict[str, Spec] = {s.command.name: s for s in SPECS if s.command is not None}
check_complete("chat command", [s.command.name for s in SPECS if s.command is not None])


def render_reply(command: str, reply: Message) -> Doc:
    """The Doc for `reply` to bus command `command`."""
    render = BY_COMMAND[command].render
    assert render is not None
    return render(reply)
