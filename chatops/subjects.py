"""Every subject, stream, KV bucket and header name of the bus contract (see DESIGN.md)."""

from __future__ import annotations

import re

# Commands: request/reply on chatops.cmd.<noun>.<verb>, served by one nats.micro service.
CMD_PREFIX = "chatops.cmd"
# Where the bus delivers a command that a read-only identity sent and must not run: the service only
# records the refusal (the server maps the subject, so such a request never reaches a real endpoint).
REFUSED_PREFIX = "chatops.refused.cmd"
SERVICE_NAME = "chatops-ops"
QUEUE_GROUP = "ops"
# The deploy agent serves chatops.cmd.deploys.* as a micro service of its own, in its own queue group.
DEPLOYER_SERVICE_NAME = "chatops-deployer"
DEPLOYER_QUEUE_GROUP = "deployer"

# Events: JetStream streams.
ALERTS_STREAM = "CHATOPS_ALERTS"
ALERTS_PREFIX = "chatops.alerts"
AUDIT_STREAM = "CHATOPS_AUDIT"
AUDIT_PREFIX = "chatops.audit"
DEPLOYS_STREAM = "CHATOPS_DEPLOYS"
DEPLOYS_PREFIX = "chatops.deploys"
# What people do with alert cards and what happens to silences: chatops.cards.acks.<ref>,
# chatops.cards.silences.<silence id>.
CARDS_STREAM = "CHATOPS_CARDS"
CARDS_PREFIX = "chatops.cards"
CARDS_ACKS = f"{CARDS_PREFIX}.acks"
CARDS_SILENCES = f"{CARDS_PREFIX}.silences"
# Events that could not be delivered, with the reason: chatops.deadletter.<kind>.
DEADLETTER_STREAM = "CHATOPS_DEADLETTER"
DEADLETTER_PREFIX = "chatops.deadletter"
DEADLETTER_ALERTS = f"{DEADLETTER_PREFIX}.alerts"  # an alert notification delivery gave up on
DEADLETTER_REPLAYED = f"{DEADLETTER_PREFIX}.replayed"  # a dead letter put back on CHATOPS_ALERTS

# KV buckets: projections rebuilt from events.
KV_ALERT_MESSAGES = "chatops_alert_messages"  # alert group key -> Slack channel/ts
KV_SEEN_EVENTS = "chatops_seen_events"  # Slack event_id -> seen (answer once)
KV_CONFIRMATIONS = "chatops_confirmations"  # pending confirmation id -> command awaiting Confirm
KV_DEPLOY_LOCKS = "chatops_deploy_locks"  # service -> who deploys it now (expires with its holder)
KV_DEPLOY_MESSAGES = "chatops_deploy_messages"  # deploy / request id -> the chat messages showing it
KV_LEASES = "chatops_leases"  # a job only one replica does at a time -> who does it, until when
KV_JOURNAL = "chatops_journal"  # chat message dedupe key -> the message a gateway holds, until answered

# Durable consumer that delivers alerts to chat.
ALERTS_DELIVERY_DURABLE = "chatops-gateway-alerts"
# Durable consumer that shows deploy steps in chat.
DEPLOYS_DELIVERY_DURABLE = "chatops-gateway-deploys"

# The audit "command" of a chat message refused before it was parsed into a command (the gateway
# records those itself, on chatops.audit.chat.refused: no command exists for ops to refuse).
REFUSED_CHAT = "chat.refused"

# On a notification put back on CHATOPS_ALERTS from a dead letter: that dead letter's sequence.
H_REPLAY_OF = "Chatops-Replay-Of"

# Headers on a command.
H_ACTOR = "Chatops-Actor"
H_ACTOR_NAME = "Chatops-Actor-Name"
H_CHANNEL = "Chatops-Channel"
H_SOURCE = "Chatops-Source"
H_REQUEST_ID = "Chatops-Request-Id"
H_TRACEPARENT = "traceparent"
# Set by a front end that refused a command itself: ops records the refusal, runs nothing, answers 403.
H_REFUSED = "Chatops-Refused"
H_CONTENT_TYPE = "Content-Type"
JSON_CONTENT_TYPE = "application/json"
PROTOBUF_CONTENT_TYPE = "application/protobuf"

# NATS-defined headers.
H_REQUEST_INFO = "Nats-Request-Info"  # stamped by the server on a request that crossed a service import
H_MSG_ID = "Nats-Msg-Id"
H_SERVICE_ERROR = "Nats-Service-Error"
H_SERVICE_ERROR_CODE = "Nats-Service-Error-Code"

_TOKEN_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def token(value: str) -> str:
    """Make one safe subject token: no dots, spaces or wildcards, never empty."""
    cleaned = _TOKEN_UNSAFE.sub("_", value.strip().lower()).strip("_")
    return cleaned or "none"


def subject(prefix: str, *tokens: str) -> str:
    """Build a subject from a prefix and tokens, each made safe."""
    return ".".join([prefix, *(token(t) for t in tokens)])


def covers(pattern: str, subject: str) -> bool:
    """Whether the subject `pattern` (with NATS's `*` and `>` wildcards) matches `subject`."""
    want, got = pattern.split("."), subject.split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(got) > i
        if i >= len(got) or (part != "*" and part != got[i]):
            return False
    return len(want) == len(got)


def command_subject(command: str) -> str:
    """`sampling.set` -> `chatops.cmd.sampling.set`."""
    noun, verb = command.split(".", 1)
    return subject(CMD_PREFIX, noun, verb)


def alert_subject(status: str, severity: str) -> str:
    """`firing`, `critical` -> `chatops.alerts.firing.critical`."""
    return subject(ALERTS_PREFIX, status, severity)


def audit_subject(command: str) -> str:
    """`sampling.set` -> `chatops.audit.sampling.set`."""
    noun, verb = command.split(".", 1)
    return subject(AUDIT_PREFIX, noun, verb)


def ack_subject(ref: str) -> str:
    """A card's key -> `chatops.cards.acks.<ref>`."""
    return subject(CARDS_ACKS, ref)


def silence_subject(silence_id: str) -> str:
    """Alertmanager's silence id -> `chatops.cards.silences.<id>`."""
    return subject(CARDS_SILENCES, silence_id)


def deploy_subject(service: str, step: str) -> str:
    """`petstore`, `canary_healthy` -> `chatops.deploys.petstore.canary_healthy`."""
    return subject(DEPLOYS_PREFIX, service, step)
