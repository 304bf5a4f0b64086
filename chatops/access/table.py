"""Who may do what on the bus: one entry per identity, written once; `grants()` turns it into subjects.

Every stream and bucket lives in one account, CHATOPS, with every identity that sends commands or uses
JetStream. A service (ops) has an account of its own: the others reach it through service imports
with `share: true`, so the server stamps each request with the sender's identity (`Nats-Request-Info`)
and no client can forge it; the service reaches its streams through imports under the prefix
`$JS.CHATOPS.API`. Read-only identities (tools) share the account READONLY, whose imports deliver a
command that changes something to the service's `chatops.refused.…` subject instead: the service
records the attempt in the audit log and refuses it, and can never run it. `chatops.access.config`
writes the nats-server configuration from this table.

Adding an identity is one entry in IDENTITIES; adding a service is one entry with a `Service`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from chatops import actors, streams
from chatops.contract import DEPLOYER, OPS, Command, Server, served_by
from chatops.subjects import (
    ALERTS_DELIVERY_DURABLE,
    ALERTS_PREFIX,
    ALERTS_STREAM,
    AUDIT_PREFIX,
    AUDIT_STREAM,
    CARDS_PREFIX,
    CARDS_STREAM,
    CMD_PREFIX,
    DEADLETTER_STREAM,
    DEPLOYS_DELIVERY_DURABLE,
    DEPLOYS_PREFIX,
    DEPLOYS_STREAM,
    KV_ALERT_MESSAGES,
    KV_CONFIRMATIONS,
    KV_DEPLOY_LOCKS,
    KV_DEPLOY_MESSAGES,
    KV_JOURNAL,
    KV_LEASES,
    KV_SEEN_EVENTS,
    REFUSED_CHAT,
    REFUSED_PREFIX,
    audit_subject,
    covers,
)

STREAMS_ACCOUNT = "CHATOPS"
READONLY_ACCOUNT = "READONLY"
OWN_JS_API = "$JS.API"
# How a service account sees the CHATOPS account's JetStream API (NATS_JS_API_PREFIX for services).
SERVICE_JS_API = f"$JS.{STREAMS_ACCOUNT}.API"
# Never granted to anyone: streams and buckets are not deleted or purged from the bus.
DESTRUCTIVE_API = ("STREAM.DELETE.>", "STREAM.PURGE.>", "STREAM.MSG.DELETE.>", "ACCOUNT.PURGE.>")


class Sends(enum.Enum):
    """Which commands an identity may send."""

    NOTHING = "nothing"
    READ_ONLY = "the commands that change nothing"
    EVERYTHING = "every command"


@dataclass(frozen=True)
class Service:
    """A micro service of the contract (`server`) in an account of its own."""

    account: str
    server: Server

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def queue(self) -> str:
        return self.server.queue_group

    @property
    def nouns(self) -> tuple[str, ...]:
        """The nouns of the commands it answers (the contract says which)."""
        return tuple(dict.fromkeys(c.name.split(".", 1)[0] for c in served_by(self.server)))


@dataclass(frozen=True)
class Identity:
    """One identity on the bus and what it may do; `grants()` expands it into subjects."""

    name: str
    role: str  # one line for the README and asyncapi.yaml
    service: Service | None = None
    speaks_for: str = ""  # the actor namespace whose Chatops-Actor claims ops accepts from it
    sends: Sends = Sends.NOTHING
    appends: tuple[str, ...] = ()  # streams it may append to
    appends_on: tuple[str, ...] = ()  # single subjects of a stream it may append on (not the whole stream)
    reads: tuple[str, ...] = ()  # streams it may read through short-lived consumers
    consumes: tuple[tuple[str, str], ...] = ()  # (stream, durable consumer) it pulls from and acks
    buckets: tuple[str, ...] = ()  # KV buckets it may read and write
    owns: tuple[str, ...] = ()  # streams whose settings only it knows: it creates and updates them
    follows: tuple[str, ...] = ()  # subjects it may subscribe to as messages arrive
    discovers: bool = False  # may ask the services' $SRV discovery subjects
    provisions: bool = False  # may create every stream and bucket and raise their limits

    def __post_init__(self) -> None:
        if self.sends is Sends.READ_ONLY and (
            self.appends
            or self.reads
            or self.consumes
            or self.buckets
            or self.owns
            or self.provisions
            or self.service
        ):
            raise ValueError(f"{self.name}: a read-only identity uses no stream, bucket or service")
        if self.service is not None and self.sends is not Sends.NOTHING:
            raise ValueError(f"{self.name}: a service answers commands; it does not send them")

    @property
    def account(self) -> str:
        if self.service is not None:
            return self.service.account
        return READONLY_ACCOUNT if self.sends is Sends.READ_ONLY else STREAMS_ACCOUNT

    @property
    def js_api(self) -> str:
        """The prefix this identity sends JetStream API requests to."""
        return SERVICE_JS_API if self.service else OWN_JS_API


OPS_SERVICE = Service("OPS", OPS)
DEPLOYER_SERVICE = Service("DEPLOYER", DEPLOYER)

IDENTITIES: tuple[Identity, ...] = (
    Identity(
        "ops",
        "the Ops service: serves every command, appends and reads the audit log, replays dead letters, "
        "records acks and watches Alertmanager's silences",
        service=OPS_SERVICE,
        # A replayed dead letter goes back on CHATOPS_ALERTS; the replay is marked on CHATOPS_DEADLETTER.
        # Acks and silence changes go on CHATOPS_CARDS.
        appends=(AUDIT_STREAM, ALERTS_STREAM, DEADLETTER_STREAM, CARDS_STREAM),
        # `timeline` reads every event log; an ack looks its card up in the gateway's projection.
        reads=(
            AUDIT_STREAM,
            DEADLETTER_STREAM,
            ALERTS_STREAM,
            CARDS_STREAM,
            DEPLOYS_STREAM,
            streams.kv_stream(KV_ALERT_MESSAGES),
        ),
        buckets=(KV_LEASES,),  # one replica watches Alertmanager's silences
    ),
    Identity(
        "deployer",
        "the deploy agent: serves the deploy commands, appends and reads deploy events, holds the lock",
        service=DEPLOYER_SERVICE,
        appends=(DEPLOYS_STREAM, AUDIT_STREAM),
        reads=(DEPLOYS_STREAM,),
        buckets=(KV_DEPLOY_LOCKS,),
        owns=(f"KV_{KV_DEPLOY_LOCKS}",),  # its TTL is the deployer's DEPLOY_LOCK_TTL
    ),
    Identity(
        "gateway",
        "the Slack gateway: sends commands for Slack users, delivers alerts and deploys, keeps its buckets",
        speaks_for=actors.SLACK,
        sends=Sends.EVERYTHING,
        consumes=((ALERTS_STREAM, ALERTS_DELIVERY_DURABLE), (DEPLOYS_STREAM, DEPLOYS_DELIVERY_DURABLE)),
        appends=(DEADLETTER_STREAM,),  # the alert notifications delivery gives up on
        # Alert cards are a projection of acks, silences, the cards' records and recent deploys; a
        # journal sweep reads many entries in batches through a consumer of its own.
        reads=(
            CARDS_STREAM,
            DEPLOYS_STREAM,
            streams.kv_stream(KV_ALERT_MESSAGES),
            streams.kv_stream(KV_JOURNAL),
        ),
        buckets=(
            KV_ALERT_MESSAGES,
            KV_SEEN_EVENTS,
            KV_JOURNAL,
            KV_CONFIRMATIONS,
            KV_DEPLOY_MESSAGES,
            KV_LEASES,
        ),
        # A message from a workspace or channel it does not serve that is not a command has no command
        # for ops to refuse: the gateway records that refusal itself, on this one subject.
        appends_on=(audit_subject(REFUSED_CHAT),),
    ),
    Identity(
        "console",
        "`chatops ask` and `chatops history`: sends commands for people at a shell",
        speaks_for=actors.CONSOLE,
        sends=Sends.EVERYTHING,
    ),
    Identity(
        "notifier",
        "the Alertmanager webhook receiver: appends alert notifications",
        appends=(ALERTS_STREAM,),
    ),
    Identity(
        "tools",
        "read-only tools in any language: commands that change nothing; alerts, audit, deploy and card "
        "events live",
        sends=Sends.READ_ONLY,
        follows=(f"{ALERTS_PREFIX}.>", f"{AUDIT_PREFIX}.>", f"{DEPLOYS_PREFIX}.>", f"{CARDS_PREFIX}.>"),
        discovers=True,
    ),
    Identity(
        "provisioner",
        "`chatops provision`: creates the streams and buckets and raises their limits",
        provisions=True,
    ),
)


@dataclass(frozen=True)
class Grants:
    """An identity's permissions as subjects; `api` and `stream_subjects` cross from CHATOPS to a service."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...]
    deny_subscribe: tuple[str, ...]
    responds: bool = False
    api: tuple[str, ...] = ()  # JetStream API subjects without their prefix, e.g. STREAM.INFO.CHATOPS_AUDIT
    stream_subjects: tuple[str, ...] = field(default=())  # appends and acks that cross into CHATOPS


def stream_subjects() -> dict[str, tuple[str, ...]]:
    """Each stream of the contract and the subjects it stores."""
    return {str(c.name): tuple(c.subjects or ()) for c in streams.stream_configs(streams.Limits())}


def bucket_streams() -> tuple[str, ...]:
    """The stream behind each KV bucket of the contract."""
    return tuple(f"KV_{kv.bucket}" for kv in streams.kv_configs(streams.Limits()))


def command_subjects(sends: Sends) -> tuple[str, ...]:
    """What an identity may publish; a read-only one's changing commands go to the refusal subjects."""
    return () if sends is Sends.NOTHING else (f"{CMD_PREFIX}.>",)


def commands_of(service: Service) -> list[Command[Any, Any]]:
    """The commands of the contract a service answers."""
    return list(served_by(service.server))


def refused_subject(subject: str) -> str:
    """`chatops.cmd.sampling.set` -> `chatops.refused.cmd.sampling.set`."""
    return REFUSED_PREFIX + subject.removeprefix(CMD_PREFIX)


def service_subjects(service: Service) -> tuple[str, ...]:
    """The command subjects a service's account exports, one wildcard per noun."""
    return tuple(f"{CMD_PREFIX}.{noun}.>" for noun in service.nouns)


def refusal_subjects(service: Service) -> tuple[str, ...]:
    """The subjects where a service only records refusals, one wildcard per noun."""
    return tuple(refused_subject(s) for s in service_subjects(service))


def discovery_subjects(service: Service) -> tuple[str, ...]:
    """`$SRV.PING|INFO|STATS.<name>[.<id>]`: micro discovery of one service."""
    return (f"$SRV.*.{service.name}", f"$SRV.*.{service.name}.*")


def _reads(stream: str) -> list[str]:
    return [
        f"STREAM.INFO.{stream}",
        f"CONSUMER.CREATE.{stream}",
        f"CONSUMER.CREATE.{stream}.>",
        f"CONSUMER.INFO.{stream}.*",
        f"CONSUMER.MSG.NEXT.{stream}.*",
        f"STREAM.MSG.GET.{stream}",
        f"DIRECT.GET.{stream}",
        f"DIRECT.GET.{stream}.>",
    ]


def _consumes(stream: str, durable: str) -> list[str]:
    return [
        f"STREAM.INFO.{stream}",
        f"STREAM.MSG.GET.{stream}",
        f"CONSUMER.CREATE.{stream}.{durable}",
        f"CONSUMER.CREATE.{stream}.{durable}.>",
        f"CONSUMER.DURABLE.CREATE.{stream}.{durable}",
        f"CONSUMER.INFO.{stream}.{durable}",
        f"CONSUMER.MSG.NEXT.{stream}.{durable}",
    ]


def _bucket(bucket: str) -> list[str]:
    stream = f"KV_{bucket}"
    return [
        f"STREAM.INFO.{stream}",
        f"STREAM.MSG.GET.{stream}",
        f"DIRECT.GET.{stream}",
        f"DIRECT.GET.{stream}.>",
    ]


def _provisions() -> list[str]:
    names = [*stream_subjects(), *bucket_streams()]
    made = [f"STREAM.{verb}.{name}" for name in names for verb in ("INFO", "CREATE", "UPDATE")]
    # What a component makes itself (the deployer's lock bucket) the provisioner only looks at: it
    # reports where every stream lives on a cluster (chatops/placement.py).
    return made + [f"STREAM.INFO.{name}" for identity in IDENTITIES for name in identity.owns]


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def grants(identity: Identity) -> Grants:
    """Expand one entry of the table into what the server enforces."""
    subjects = stream_subjects()
    api: list[str] = []
    crossing: list[str] = []  # subjects published into CHATOPS that are not API requests
    publish = list(command_subjects(identity.sends))
    subscribe = [f"_INBOX.{identity.name}.>", *identity.follows]
    for stream in identity.appends:
        crossing += subjects[stream]
        api.append(f"STREAM.INFO.{stream}")
    crossing += identity.appends_on
    for stream in identity.reads:
        api += _reads(stream)
    for stream, durable in identity.consumes:
        api += _consumes(stream, durable)
        crossing.append(f"$JS.ACK.{stream}.{durable}.>")
    for bucket in identity.buckets:
        api += _bucket(bucket)
        crossing.append(f"$KV.{bucket}.>")
    for stream in identity.owns:
        api += [f"STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE")]
        api.append("INFO")  # nats-py asks the account's JetStream level before it makes a bucket
    if identity.provisions:
        api += _provisions()
    if identity.discovers:
        publish.append("$SRV.>")
    if identity.service is not None:
        queue = identity.service.queue
        subscribe += [f"{s} {queue}" for s in service_subjects(identity.service)]
        subscribe += [f"{s} {queue}" for s in refusal_subjects(identity.service)]
        subscribe.append("$SRV.>")
    api_unique = _unique(api)
    publish += crossing
    publish += [f"{identity.js_api}.{a}" for a in api_unique]
    deny_publish = [f"{prefix}.{a}" for prefix in (OWN_JS_API, SERVICE_JS_API) for a in DESTRUCTIVE_API]
    # Only a service may take requests off the bus; anyone else listening there could answer for it.
    deny_subscribe = [] if identity.service is not None else [f"{CMD_PREFIX}.>", f"{REFUSED_PREFIX}.>"]
    return Grants(
        publish=_unique(publish),
        subscribe=_unique(subscribe),
        deny_publish=tuple(deny_publish),
        deny_subscribe=tuple(deny_subscribe),
        responds=identity.service is not None,
        api=api_unique,
        stream_subjects=_unique(crossing),
    )


def identity(name: str) -> Identity:
    """The entry called `name`; KeyError names the ones there are."""
    for entry in IDENTITIES:
        if entry.name == name:
            return entry
    raise KeyError(f"no identity {name!r}: there are {', '.join(i.name for i in IDENTITIES)}")


def services() -> tuple[Identity, ...]:
    return tuple(i for i in IDENTITIES if i.service is not None)


def senders_of(command: Command[Any, Any]) -> list[str]:
    """Who may send `command`; a read-only identity's changing command is listed as refused."""
    found = []
    for i in IDENTITIES:
        if i.sends is Sends.EVERYTHING or (i.sends is Sends.READ_ONLY and not command.changes):
            found.append(i.name)
        elif i.sends is Sends.READ_ONLY:
            found.append(f"{i.name} (recorded and refused)")
    return found


def servers_of(command: Command[Any, Any]) -> list[str]:
    """The service identity that answers `command`."""
    return [i.name for i in services() if i.service is not None and command in commands_of(i.service)]


def writers_of(stream: str) -> list[str]:
    patterns = stream_subjects()[stream]
    found = [i.name for i in IDENTITIES if stream in i.appends]
    for i in IDENTITIES:
        only = [s for s in i.appends_on if any(covers(p, s) for p in patterns)]
        if only:
            found.append(f"{i.name} (on {', '.join(only)} only)")
    return found


def readers_of(stream: str) -> list[str]:
    """Who may read `stream`: live (follows), through a durable consumer, or short-lived ones."""
    subjects = set(stream_subjects()[stream])
    found = []
    for i in IDENTITIES:
        if subjects & set(i.follows):
            found.append(f"{i.name} (live)")
        if any(s == stream for s, _ in i.consumes):
            found.append(f"{i.name} (its durable consumer)")
        if stream in i.reads:
            found.append(f"{i.name} (reads it back)")
    return found
