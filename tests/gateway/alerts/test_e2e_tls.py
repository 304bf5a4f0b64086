"""The whole system with identities on and over TLS: an alert from Alertmanager to Slack, chat commands
through ops, a read-only tool; then every log line, reply and audit event is searched for every secret
of the run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from nats.aio.msg import Msg

from chatops import codec
from chatops.bus import Caller, ServiceFailed, call, settle
from chatops.contract import command
from chatops.v1 import alerts_pb2, audit_pb2, events_pb2, sampling_pb2, version_pb2
from tests.gateway.alerts.conftest import Slack
from tests.gateway.alerts.stack import TOKEN, alertmanager_config, gateway, ops
from tools.harness import components
from tools.harness.alerts import flat, push_alert, top_level
from tools.harness.servers import Alertmanager, NatsServer, Parts, Prometheus
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow

PROM_PASSWORD = "prom-pa55-7d1e"
AM_PASSWORD = "am-pa55-93ac"


def with_password(url: str, user: str, password: str) -> str:
    """A backend URL carrying basic-auth credentials (Prometheus and Alertmanager ignore them)."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"{user}:{password}@{parts.netloc}").geturl()


async def test_over_tls_alerts_and_commands_run_end_to_end_and_no_secret_shows(
    tmp_path: Path, slack: Slack, parts: Parts
) -> None:
    bus = parts(NatsServer(tmp_path / "nats", identities=True, tls=True).start())
    assert bus.url.startswith("tls://") and bus.files is not None
    admin = await slack.control.create_user("tls-admin")
    admins = f"slack:{admin}"
    hook = parts(components.notifier(tmp_path / "notifier", bus).start())
    am = parts(Alertmanager(tmp_path / "am", config=alertmanager_config(hook.url)).start())
    rule: dict[str, object] = {"alert": "TlsRuleFiring", "expr": "vector(1)", "labels": {"severity": "info"}}
    prom = parts(Prometheus(tmp_path / "prom", rules=[rule]).start())
    am_url = with_password(am.url, "am", AM_PASSWORD)
    prom_url = with_password(prom.url, "prom", PROM_PASSWORD)
    backend = parts(ops(tmp_path / "ops", bus, am_url, admins, prometheus_url=prom_url).start())
    gw = parts(gateway(tmp_path / "gw", bus, slack.emulator, slack.oncall, admins=admins).start())
    await slack.control.wait_connected()

    # A read-only tool, over TLS with its own certificate, follows alerts as they come.
    tool = await bus.connect("tools")
    arrived: asyncio.Queue[Msg] = asyncio.Queue()
    await tool.subscribe("chatops.alerts.>", cb=arrived.put)
    await settle(tool)

    # Alertmanager -> notifier -> bus -> gateway -> Slack.
    await push_alert(am.url, "TlsEndToEnd", "sent over TLS", severity="critical")
    posted = await slack.control.wait_for_message(
        slack.oncall, predicate=lambda m: "TlsEndToEnd" in flat(m), timeout=90
    )
    assert "FIRING [critical] TlsEndToEnd" in flat(posted)
    note = codec.decode((await asyncio.wait_for(arrived.get(), 30)).data, events_pb2.AlertNotification)
    assert note.alerts[0].labels["alertname"] == "TlsEndToEnd"

    # The tool's reading commands are answered; a change, even claiming the admin, is refused.
    caller = Caller(actor=admins, request_id="tool-forged")

    async def firing() -> bool:
        listed = await call(tool, command("alerts.list"), alerts_pb2.ListAlertsRequest(), caller)
        return "TlsRuleFiring" in {a.name for a in listed.alerts}

    await eventually(firing, timeout=60, what="Prometheus' rule listed through ops")
    versions = await call(tool, command("version.get"), version_pb2.GetVersionRequest(), caller)
    assert list(versions.versions) == []  # nothing to scrape here, but an answer
    always = sampling_pb2.SetSamplingRequest(
        sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS)
    )
    with pytest.raises(ServiceFailed) as refused:
        await call(tool, command("sampling.set"), always, caller)
    assert refused.value.code == 403

    # A chat command through the gateway and ops, and a change an admin confirms (a silence).
    channel = await slack.control.create_channel("tls-chat")
    asked = await slack.control.mention(admin, channel, "alerts")
    reply = await slack.control.wait_for_message(channel, thread_ts=asked, timeout=60)
    assert "TlsRuleFiring" in flat(reply)
    asked = await slack.control.mention(admin, channel, "silence alertname=TlsEndToEnd for=1h over tls")
    question = await slack.control.wait_for_message(channel, thread_ts=asked, timeout=60)
    await slack.control.click_button(admin, channel, question["ts"], "chatops_confirm")
    done = await slack.control.wait_for_update(
        channel,
        question["ts"],
        predicate=lambda m: "ilence" in m["text"] and "Run" not in m["text"],
        timeout=60,
    )
    assert f"{am.url}/#/silences/" in flat(done)  # the link is Alertmanager's, without its password

    # Every secret of the run, and everywhere it must not be.
    secrets = {
        "slack bot token": slack.emulator.bot_token,
        "slack app token": slack.emulator.app_token,
        "slack signing secret": slack.emulator.signing_secret,
        "notifier token": TOKEN,
        "prometheus password": PROM_PASSWORD,
        "alertmanager password": AM_PASSWORD,
    }
    for name in ("ops", "gateway", "notifier", "console", "tools", "provisioner"):
        secrets[f"{name} seed"] = bus.files.seed(name).read_text().strip()
        key = bus.files.cert(name).key.read_text()
        secrets[f"{name} tls key"] = "".join(key.splitlines()[1:-1])[:40]
    log = await call(tool, command("audit.list"), audit_pb2.ListAuditRequest(limit=100), caller)
    assert {"alerts.list", "version.get", "sampling.set", "silences.create"} <= {
        e.command for e in log.events
    }
    await tool.close()
    places = {
        "ops log": backend.proc.log_path.read_text(),
        "gateway log": gw.proc.log_path.read_text(),
        "notifier log": hook.proc.log_path.read_text(),
        "nats log": bus.proc.log_path.read_text(),
        "audit events": json.dumps([codec.encode(e, as_json=True).decode() for e in log.events]),
        "slack replies": json.dumps(
            [top_level(await slack.control.messages(c)) for c in (slack.oncall, channel)]
            + [await slack.control.messages(c) for c in (slack.oncall, channel)]
        ),
    }
    assert len(places["ops log"].splitlines()) > 3 and len(places["gateway log"].splitlines()) > 3
    found = [
        (secret, place)
        for secret, value in secrets.items()
        for place, text in places.items()
        if value in text
    ]
    assert found == []
