"""asyncapi.yaml: current with the protos, and naming every subject, header and payload field."""

from __future__ import annotations

import yaml
from google.protobuf import json_format

from chatops import subjects
from chatops.contract import COMMANDS
from chatops.v1 import audit_pb2, deploys_pb2, events_pb2
from tools.asyncapi import TARGET, render

DOC = yaml.safe_load(TARGET.read_text())


def _resolve(ref: str):
    node = DOC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return _resolve(node["$ref"]) if isinstance(node, dict) and "$ref" in node else node


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_asyncapi_is_what_the_protos_generate():
    assert TARGET.read_text() == render(), "asyncapi.yaml is stale: run `python -m tools.asyncapi`"


def test_it_is_asyncapi_3_and_every_reference_resolves():
    assert DOC["asyncapi"] == "3.0.0"
    refs = list(_refs(DOC))
    assert len(refs) > 50
    for ref in refs:
        assert _resolve(ref) is not None, ref


def test_every_command_is_a_channel_with_request_and_reply():
    addresses = {ch.get("address"): key for key, ch in DOC["channels"].items()}
    for cmd in COMMANDS:
        key = addresses[cmd.subject]
        op = DOC["operations"][key]
        assert op["action"] == "receive" and op["bindings"]["nats"]["queue"] == cmd.server.queue_group
        request = _resolve(next(iter(DOC["channels"][key]["messages"].values()))["$ref"])
        reply = _resolve(op["reply"]["messages"][0]["$ref"])
        assert request["payload"]["$ref"].endswith("/" + cmd.request.DESCRIPTOR.name)
        assert reply["payload"]["$ref"].endswith("/" + cmd.reply.DESCRIPTOR.name)
    assert f"{subjects.ALERTS_PREFIX}.{{status}}.{{severity}}" in addresses
    assert f"{subjects.AUDIT_PREFIX}.{{noun}}.{{verb}}" in addresses
    assert f"{subjects.DEPLOYS_PREFIX}.{{service}}.{{step}}" in addresses
    assert DOC["operations"]["deploysStart"]["bindings"]["nats"]["queue"] == subjects.DEPLOYER_QUEUE_GROUP


def test_every_header_of_the_contract_is_described():
    text = TARGET.read_text()
    for name in (
        subjects.H_ACTOR,
        subjects.H_ACTOR_NAME,
        subjects.H_CHANNEL,
        subjects.H_SOURCE,
        subjects.H_REQUEST_ID,
        subjects.H_TRACEPARENT,
        subjects.H_CONTENT_TYPE,
        subjects.H_MSG_ID,
        subjects.H_SERVICE_ERROR,
        subjects.H_SERVICE_ERROR_CODE,
    ):
        assert f"{name}:" in text, name


def test_payload_properties_are_the_protobuf_json_names():
    """A real message in the JSON mapping uses exactly the property names the document lists."""
    schemas = DOC["components"]["schemas"]
    note = events_pb2.AlertNotification(group_key="{}:{}", status="firing", truncated_alerts=1, severity="x")
    note.alerts.add(status="firing", generator_url="http://p")
    note.common_labels["alertname"] = "A"
    as_json = json_format.MessageToDict(note)
    assert set(as_json) <= set(schemas["AlertNotification"]["properties"])
    assert set(as_json["alerts"][0]) <= set(schemas["AlertInstance"]["properties"])
    event = json_format.MessageToDict(audit_pb2.AuditEvent(actor="a", error_code=403, sequence=7))
    assert set(event) <= set(schemas["AuditEvent"]["properties"])
    assert schemas["AuditEvent"]["properties"]["sequence"]["type"] == "string"  # uint64 is a JSON string
    assert event["sequence"] == "7"
    deploy = deploys_pb2.DeployEvent(deploy_id="d", step=deploys_pb2.DEPLOY_STEP_PROMOTED, error_ratio=0.5)
    deploy.instances.add(name="petstore-1", version="0.2.0")
    as_json = json_format.MessageToDict(deploy)
    assert set(as_json) <= set(schemas["DeployEvent"]["properties"])
    assert set(as_json["instances"][0]) <= set(schemas["InstanceVersion"]["properties"])
    assert "DEPLOY_STEP_ROLLED_BACK" in schemas["DeployStep"]["enum"]


def test_every_channel_says_which_identities_publish_and_subscribe():
    channels = DOC["channels"]
    for key, channel in channels.items():
        if channel.get("address"):
            assert set(channel["x-identities"]) == {"publish", "subscribe"}, key
    by_address = {ch["address"]: ch["x-identities"] for ch in channels.values() if ch.get("address")}
    assert by_address["chatops.cmd.sampling.set"] == {
        "publish": ["gateway", "console", "tools (recorded and refused)"],
        "subscribe": ["ops"],
    }
    assert by_address["chatops.cmd.version.get"]["publish"] == ["gateway", "console", "tools"]
    assert by_address[f"{subjects.ALERTS_PREFIX}.{{status}}.{{severity}}"] == {
        "publish": ["ops", "notifier"],  # ops: a dead letter sent again
        # ops: `timeline` reads the notifications back
        "subscribe": ["ops (reads it back)", "gateway (its durable consumer)", "tools (live)"],
    }
    assert by_address[f"{subjects.CARDS_PREFIX}.{{kind}}.{{id}}"] == {
        "publish": ["ops"],  # acks it decided, silences it made or saw
        "subscribe": ["ops (reads it back)", "gateway (reads it back)", "tools (live)"],
    }
    assert by_address[f"{subjects.AUDIT_PREFIX}.{{noun}}.{{verb}}"]["publish"] == [
        "ops",
        "deployer",
        "gateway (on chatops.audit.chat.refused only)",
    ]
    assert f"{subjects.H_REFUSED}:" in TARGET.read_text()
