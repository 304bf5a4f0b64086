"""Generate asyncapi.yaml (AsyncAPI 3.0) from the command table and the .proto files, comments included."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import descriptor_pb2 as d

from chatops import errors, subjects
from chatops.access import table as access
from chatops.contract import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "asyncapi.yaml"
PACKAGE = "chatops.v1"
EVENTS = (
    "AlertNotification",
    "AuditEvent",
    "DeployEvent",
    "DeadLetter",
    "DeadLetterReplayed",
    "AckEvent",
    "SilenceEvent",
)
F = d.FieldDescriptorProto

_SCALARS: dict[int, dict[str, Any]] = {
    F.TYPE_STRING: {"type": "string"},
    F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_DOUBLE: {"type": "number"},
    F.TYPE_FLOAT: {"type": "number"},
    F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    **{t: {"type": "integer", "format": "int32"} for t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32)},
    **{t: {"type": "integer", "format": "uint32"} for t in (F.TYPE_UINT32, F.TYPE_FIXED32)},
    # The protobuf JSON mapping writes 64-bit integers as strings (parsers accept numbers too).
    **{
        t: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
        for t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64, F.TYPE_UINT64, F.TYPE_FIXED64)
    },
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339, e.g. 2024-05-01T12:00:00Z",
    },
    ".google.protobuf.Duration": {
        "type": "string",
        "pattern": "^-?[0-9]+(\\.[0-9]+)?s$",
        "description": "seconds with an s suffix, e.g. 1.5s",
    },
}


def descriptor_set(proto_dir: Path) -> d.FileDescriptorSet:
    """Compile the chatops .proto files with their comments (grpc_tools, a dev dependency)."""
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    files = sorted(str(p.relative_to(proto_dir)) for p in (proto_dir / "chatops" / "v1").glob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        code = protoc.main(
            [
                "protoc",
                f"-I{proto_dir}",
                f"-I{include}",
                "--include_source_info",
                f"--descriptor_set_out={out}",
                *files,
            ]
        )
        if code != 0:
            raise RuntimeError(f"protoc failed with {code}")
        return d.FileDescriptorSet.FromString(out.read_bytes())


@dataclass(frozen=True)
class Catalog:
    """Every message and enum of the package, and the comment above each one and each field."""

    messages: dict[str, d.DescriptorProto]
    enums: dict[str, d.EnumDescriptorProto]
    comments: dict[tuple[str, ...], str]

    @classmethod
    def build(cls, fds: d.FileDescriptorSet) -> Catalog:
        messages: dict[str, d.DescriptorProto] = {}
        enums: dict[str, d.EnumDescriptorProto] = {}
        comments: dict[tuple[str, ...], str] = {}
        for f in fds.file:
            if f.package != PACKAGE:
                continue
            text = {tuple(loc.path): _clean(loc.leading_comments) for loc in f.source_code_info.location}
            for i, msg in enumerate(f.message_type):
                messages[msg.name] = msg
                for nested in msg.nested_type:  # map entries
                    messages[f"{msg.name}.{nested.name}"] = nested
                comments[(msg.name,)] = text.get((4, i), "")
                for j, fld in enumerate(msg.field):
                    comments[(msg.name, fld.name)] = text.get((4, i, 2, j), "")
            for i, enum in enumerate(f.enum_type):
                enums[enum.name] = enum
                comments[(enum.name,)] = text.get((5, i), "")
        return cls(messages, enums, comments)

    def field_schema(self, fld: d.FieldDescriptorProto) -> dict[str, Any]:
        if fld.type == F.TYPE_MESSAGE:
            if fld.type_name in _WELL_KNOWN:
                one = dict(_WELL_KNOWN[fld.type_name])
            else:
                local = fld.type_name.removeprefix(f".{PACKAGE}.")
                entry = self.messages[local]
                if entry.options.map_entry:
                    value = self.field_schema(entry.field[1])
                    return {"type": "object", "additionalProperties": value}
                one = {"$ref": f"#/components/schemas/{local}"}
        elif fld.type == F.TYPE_ENUM:
            one = {"$ref": f"#/components/schemas/{fld.type_name.removeprefix(f'.{PACKAGE}.')}"}
        else:
            one = dict(_SCALARS[fld.type])
        if fld.label == F.LABEL_REPEATED:
            return {"type": "array", "items": one}
        return one

    def schema(self, name: str) -> dict[str, Any]:
        if name in self.enums:
            enum = self.enums[name]
            return {
                "type": "string",
                "description": self.comments[(name,)],
                "enum": [v.name for v in enum.value],
            }
        msg = self.messages[name]
        props = {}
        for fld in msg.field:
            prop = self.field_schema(fld)
            note = self.comments.get((name, fld.name), "")
            if note:
                prop = (
                    {**prop, "description": note}
                    if "$ref" not in prop
                    else {"allOf": [prop], "description": note}
                )
            props[fld.json_name] = prop
        schema: dict[str, Any] = {"type": "object", "description": self.comments[(name,)]}
        if props:
            schema["properties"] = props
        return schema

    def schemas(self) -> dict[str, Any]:
        names = [n for n in self.messages if "." not in n] + list(self.enums)
        return {n: self.schema(n) for n in sorted(names)}


def _clean(comment: str) -> str:
    return " ".join(line.strip() for line in comment.strip().splitlines())


def _header(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


COMMAND_HEADERS = {
    "type": "object",
    "properties": {
        subjects.H_CONTENT_TYPE: _header(
            "application/json for the protobuf JSON mapping (the reply comes back as JSON too); "
            "absent or application/protobuf for protobuf binary",
            enum=[subjects.JSON_CONTENT_TYPE, subjects.PROTOBUF_CONTENT_TYPE],
        ),
        subjects.H_ACTOR: _header(
            "who asks, e.g. slack:U024BE7LH; taken only from an identity that may speak for that "
            "namespace (the gateway for slack:, the console for console:), otherwise the request "
            "acts as its identity (nats:<name>); checked against CHATOPS_ADMINS for commands "
            "that change things"
        ),
        subjects.H_ACTOR_NAME: _header("the asker's display name, for the audit log"),
        subjects.H_CHANNEL: _header("where it was asked, e.g. a Slack channel id"),
        subjects.H_SOURCE: _header("which front end sent it, e.g. slack, console, or your tool's name"),
        subjects.H_REQUEST_ID: _header("an id to follow one request through the logs and the audit log"),
        subjects.H_TRACEPARENT: _header("W3C trace context; ops continues that trace"),
        subjects.H_REFUSED: _header(
            "set by a front end that refused the command itself (the reason): ops records the "
            "refusal in the audit log, runs nothing and answers 403"
        ),
    },
}
REPLY_HEADERS = {
    "type": "object",
    "properties": {
        subjects.H_CONTENT_TYPE: _header("application/json when the request was JSON"),
        subjects.H_SERVICE_ERROR_CODE: _header(
            "set only on errors: "
            + ", ".join(f"{code} {what}" for code, what in errors.MEANINGS.items())
            + "; the body is then empty",
            enum=[str(code) for code in errors.MEANINGS],
        ),
        subjects.H_SERVICE_ERROR: _header("set only on errors: what went wrong, for a person"),
    },
}
EVENT_HEADERS = {
    "type": "object",
    "properties": {
        subjects.H_MSG_ID: _header(
            "JetStream de-duplication id: a hash of the content, so retries are stored once"
        ),
    },
}


def _identities(publish: list[str], subscribe: list[str]) -> dict[str, Any]:
    """Which NATS identities may publish and subscribe on a channel (chatops/access/table.py)."""
    return {"publish": publish, "subscribe": subscribe}


def _stream_identities(stream: str) -> dict[str, Any]:
    """Which identities may append to a stream's subjects and read them back."""
    return _identities(access.writers_of(stream), access.readers_of(stream))


def _camel(command: str) -> str:
    noun, verb = command.split(".")
    return noun + verb.title()


def document(catalog: Catalog) -> dict[str, Any]:
    """The whole AsyncAPI document."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    reply_messages: dict[str, Any] = {}
    for cmd in COMMANDS:
        req, rep = cmd.request.DESCRIPTOR.name, cmd.reply.DESCRIPTOR.name
        messages[req] = {
            "name": req,
            "title": f"{cmd.name} request",
            "summary": catalog.comments[(req,)],
            "contentType": subjects.JSON_CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/CommandHeaders"},
            "payload": {"$ref": f"#/components/schemas/{req}"},
        }
        messages[rep] = {
            "name": rep,
            "title": f"{cmd.name} reply",
            "summary": catalog.comments[(rep,)],
            "contentType": subjects.JSON_CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/ReplyHeaders"},
            "payload": {"$ref": f"#/components/schemas/{rep}"},
        }
        key = _camel(cmd.name)
        channels[key] = {
            "address": cmd.subject,
            "title": cmd.name,
            "description": cmd.summary + (" Changes the system: admins only." if cmd.changes else ""),
            "messages": {req: {"$ref": f"#/components/messages/{req}"}},
            "x-identities": _identities(access.senders_of(cmd), access.servers_of(cmd)),
        }
        reply_messages[rep] = {"$ref": f"#/components/messages/{rep}"}
        operations[key] = {
            "action": "receive",
            "title": f"{cmd.server.name} answers {cmd.name}",
            "summary": cmd.summary,
            "channel": {"$ref": f"#/channels/{key}"},
            "bindings": {"nats": {"queue": cmd.server.queue_group}},
            "reply": {
                "channel": {"$ref": "#/channels/replies"},
                "messages": [{"$ref": f"#/channels/replies/messages/{rep}"}],
            },
        }
    channels["replies"] = {
        "address": None,
        "description": "The reply subject the requester put on its request (an _INBOX; NATS request/reply).",
        "messages": reply_messages,
    }
    channels["alerts"] = {
        "address": f"{subjects.ALERTS_PREFIX}.{{status}}.{{severity}}",
        "title": "alert notifications",
        "description": f"One event per Alertmanager notification, kept in the JetStream stream "
        f"{subjects.ALERTS_STREAM}. Payload: protobuf binary (no Content-Type header); "
        "decode it with proto/chatops/v1/events.proto.",
        "parameters": {
            "status": {"enum": ["firing", "resolved"], "description": "the notification's status"},
            "severity": {
                "enum": ["critical", "warning", "info", "none"],
                "description": "the highest severity label among its alerts",
            },
        },
        "messages": {"AlertNotification": {"$ref": "#/components/messages/AlertNotification"}},
        "x-identities": _stream_identities(subjects.ALERTS_STREAM),
    }
    channels["audit"] = {
        "address": f"{subjects.AUDIT_PREFIX}.{{noun}}.{{verb}}",
        "title": "audit events",
        "description": f"One event per command run or refused, kept in the JetStream stream "
        f"{subjects.AUDIT_STREAM}. Payload: protobuf binary; read it back as JSON with "
        f"{subjects.command_subject('audit.list')}.",
        "parameters": {
            "noun": {"description": "the command's noun, e.g. sampling"},
            "verb": {"description": "the command's verb, e.g. set"},
        },
        "messages": {"AuditEvent": {"$ref": "#/components/messages/AuditEvent"}},
        "x-identities": _stream_identities(subjects.AUDIT_STREAM),
    }
    channels["deploys"] = {
        "address": f"{subjects.DEPLOYS_PREFIX}.{{service}}.{{step}}",
        "title": "deploy events",
        "description": f"One event per step of every deploy, kept in the JetStream stream "
        f"{subjects.DEPLOYS_STREAM}; the state of a service (which instance runs which version) is "
        "a projection of them. Payload: protobuf binary; decode it with proto/chatops/v1/deploys.proto.",
        "parameters": {
            "service": {"description": "the service deployed, e.g. petstore"},
            "step": {
                "enum": ["requested", "started", "canary_healthy", "promoted", "rolled_back", "failed"],
                "description": "the step the event records",
            },
        },
        "messages": {"DeployEvent": {"$ref": "#/components/messages/DeployEvent"}},
        "x-identities": _stream_identities(subjects.DEPLOYS_STREAM),
    }
    channels["cards"] = {
        "address": f"{subjects.CARDS_PREFIX}.{{kind}}.{{id}}",
        "title": "alert card events",
        "description": f"What people do with alert cards ({subjects.CARDS_ACKS}.<card ref>) and every "
        f"change of an Alertmanager silence ({subjects.CARDS_SILENCES}.<silence id>), kept in the "
        f"JetStream stream {subjects.CARDS_STREAM}; the latest event on a subject is its state, and a "
        "card is a projection of them with the alerts and deploys. Payload: protobuf binary; decode it "
        "with proto/chatops/v1/cards.proto.",
        "parameters": {
            "kind": {"enum": ["acks", "silences"], "description": "an ack, or a silence's new state"},
            "id": {"description": "the card's ref (40 hex digits), or Alertmanager's silence id"},
        },
        "messages": {
            "AckEvent": {"$ref": "#/components/messages/AckEvent"},
            "SilenceEvent": {"$ref": "#/components/messages/SilenceEvent"},
        },
        "x-identities": _identities(
            access.writers_of(subjects.CARDS_STREAM), access.readers_of(subjects.CARDS_STREAM)
        ),
    }
    channels["deadletters"] = {
        "address": f"{subjects.DEADLETTER_PREFIX}.{{kind}}",
        "title": "dead letters",
        "description": "Alert notifications delivery gave up on, with the reason "
        f"({subjects.DEADLETTER_ALERTS}), and each one sent again ({subjects.DEADLETTER_REPLAYED}), "
        f"kept in the JetStream stream {subjects.DEADLETTER_STREAM}. Payload: protobuf binary; read "
        f"them as JSON with {subjects.command_subject('deadletters.list')}.",
        "parameters": {
            "kind": {"enum": ["alerts", "replayed"], "description": "a dead letter, or a replay of one"},
        },
        "messages": {
            "DeadLetter": {"$ref": "#/components/messages/DeadLetter"},
            "DeadLetterReplayed": {"$ref": "#/components/messages/DeadLetterReplayed"},
        },
        "x-identities": _stream_identities(subjects.DEADLETTER_STREAM),
    }
    for event in EVENTS:
        messages[event] = {
            "name": event,
            "summary": catalog.comments[(event,)],
            "contentType": subjects.PROTOBUF_CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/EventHeaders"},
            "payload": {"$ref": f"#/components/schemas/{event}"},
        }
    operations["publishAlert"] = {
        "action": "send",
        "title": "the notifier publishes alert notifications",
        "channel": {"$ref": "#/channels/alerts"},
    }
    operations["publishAudit"] = {
        "action": "send",
        "title": "ops and the deployer append an audit event per command",
        "channel": {"$ref": "#/channels/audit"},
    }
    operations["publishDeadLetter"] = {
        "action": "send",
        "title": "the gateway appends a notification it gives up on; ops marks one sent again",
        "channel": {"$ref": "#/channels/deadletters"},
    }
    operations["publishCardEvent"] = {
        "action": "send",
        "title": "ops appends acks it decided and the silence changes it makes or sees in Alertmanager",
        "channel": {"$ref": "#/channels/cards"},
    }
    operations["publishDeploy"] = {
        "action": "send",
        "title": "the deployer appends an event per deploy step",
        "channel": {"$ref": "#/channels/deploys"},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ChatOps bus",
            "version": "1.0.0",
            "description": "Commands are NATS request/reply served by the micro services "
            f"`{subjects.SERVICE_NAME}` (queue group `{subjects.QUEUE_GROUP}`) and "
            f"`{subjects.DEPLOYER_SERVICE_NAME}` (queue group `{subjects.DEPLOYER_QUEUE_GROUP}`, "
            "the deploy commands); events are "
            "JetStream streams. Send JSON with `Content-Type: application/json` and no code "
            "generation is needed. Generated by `python -m tools.asyncapi` from "
            "proto/chatops/v1 and chatops/contract.py; do not edit by hand.",
        },
        "servers": {
            "local": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "`chatops up` (set NATS_URL for another). Connect as an identity: "
                "`chatops up` writes the read-only tools' nkey seed to .chatops/creds/tools.nk; "
                "replies come on the inbox prefix _INBOX.<identity>. Each channel's x-identities "
                "says who may publish and subscribe there (README, Security).",
                "security": [{"$ref": "#/components/securitySchemes/nkey"}],
            }
        },
        "defaultContentType": subjects.JSON_CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "securitySchemes": {
                "nkey": {
                    "type": "asymmetricEncryption",
                    "description": "a NATS nkey identity: the client signs the server's nonce with its "
                    "seed (NATS_NKEY_SEED_FILE); with --tls, also a client certificate (X.509) "
                    "signed by the stack's CA",
                },
            },
            "messages": messages,
            "schemas": {
                "CommandHeaders": COMMAND_HEADERS,
                "ReplyHeaders": REPLY_HEADERS,
                "EventHeaders": EVENT_HEADERS,
                **catalog.schemas(),
            },
        },
    }


def render(proto_dir: Path = ROOT / "proto") -> str:
    """The text of asyncapi.yaml."""
    doc = document(Catalog.build(descriptor_set(proto_dir)))
    return "# Generated by `python -m tools.asyncapi`; do not edit.\n" + yaml.safe_dump(
        doc, sort_keys=False, width=100, allow_unicode=True
    )


def main(argv: list[str] | None = None) -> int:
    """Write asyncapi.yaml, or with --check exit 1 when it differs from what the protos say."""
    p = argparse.ArgumentParser(prog="python -m tools.asyncapi", description=main.__doc__)
    p.add_argument("--check", action="store_true", help="only check; exit 1 when asyncapi.yaml is stale")
    args = p.parse_args(argv)
    text = render()
    current = TARGET.read_text() if TARGET.exists() else ""
    if current == text:
        return 0
    if args.check:
        print(f"{TARGET} is out of date: run `python -m tools.asyncapi`", file=sys.stderr)
        return 1
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
