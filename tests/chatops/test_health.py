"""The shared /metrics + /healthz endpoints and `serving`, on real loopback ports with real HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from chatops.health import ListenError, add_health_routes, metrics_app, serving
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.servers import Prometheus, env_with
from tools.harness.wait import eventually


def _registry() -> tuple[CollectorRegistry, Counter]:
    registry = CollectorRegistry()
    hits = Counter("chatops_test_hits", "Hits counted by the test.", ["kind"], registry=registry)
    return registry, hits


async def test_metrics_are_the_registry_in_the_classic_text_format() -> None:
    registry, hits = _registry()
    hits.labels(kind="a").inc(3)
    async with (
        serving(metrics_app(registry), f"{LOOPBACK}:0") as port,
        aiohttp.ClientSession() as http,
        http.get(f"http://{LOOPBACK}:{port}/metrics") as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = await resp.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("chatops_test_hits_total", (("kind", "a"),))] == 3.0


async def test_healthz_follows_the_problem_callable() -> None:
    registry, _ = _registry()
    trouble = ["starting: waiting for NATS"]
    app = metrics_app(registry, lambda: trouble[0])
    async with serving(app, f"{LOOPBACK}:0") as port, aiohttp.ClientSession() as http:
        url = f"http://{LOOPBACK}:{port}/healthz"
        async with http.get(url) as resp:
            assert (resp.status, await resp.text()) == (503, "starting: waiting for NATS\n")
        trouble[0] = ""
        async with http.get(url) as resp:
            assert (resp.status, await resp.text()) == (200, "ok\n")


async def test_healthz_without_a_problem_callable_is_always_ok() -> None:
    registry, _ = _registry()
    async with (
        serving(metrics_app(registry), f"{LOOPBACK}:0") as port,
        aiohttp.ClientSession() as http,
        http.get(f"http://{LOOPBACK}:{port}/healthz") as resp,
    ):
        assert (resp.status, await resp.text()) == (200, "ok\n")


async def test_the_routes_join_an_app_that_has_its_own() -> None:
    registry, hits = _registry()
    hits.labels(kind="b").inc()

    async def alerts(_: web.Request) -> web.Response:
        return web.json_response({"status": "stored"})

    app = web.Application()
    app.router.add_post("/alerts", alerts)
    add_health_routes(app, registry)
    async with serving(app, f"{LOOPBACK}:0") as port, aiohttp.ClientSession() as http:
        base = f"http://{LOOPBACK}:{port}"
        async with http.post(f"{base}/alerts") as resp:
            assert (resp.status, await resp.json()) == (200, {"status": "stored"})
        async with http.get(f"{base}/metrics") as resp:
            assert 'chatops_test_hits_total{kind="b"} 1.0' in await resp.text()
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200


async def test_serving_listens_on_the_given_port_and_stops_on_exit() -> None:
    registry, _ = _registry()
    port = free_port()
    async with serving(metrics_app(registry), f"{LOOPBACK}:{port}") as bound:
        assert bound == port
        async with aiohttp.ClientSession() as http, http.get(f"http://{LOOPBACK}:{port}/healthz") as resp:
            assert resp.status == 200
    with pytest.raises(ConnectionRefusedError), socket.create_connection((LOOPBACK, port), timeout=5):
        pass


async def test_a_port_in_use_is_one_clear_line() -> None:
    registry, _ = _registry()
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        listen = f"{LOOPBACK}:{taken.getsockname()[1]}"
        with pytest.raises(ListenError) as info:
            async with serving(metrics_app(registry), listen, purpose="/metrics"):
                pytest.fail("served on a port that is in use")
    message = str(info.value)
    assert message.startswith(f"cannot listen for /metrics on {listen}: ")
    assert "address already in use" in message
    assert "\n" not in message
    assert isinstance(info.value, OSError)  # callers that catch OSError still do


def _query(prom_url: str, promql: str) -> list[dict[str, object]]:
    url = f"{prom_url}/api/v1/query?query=" + urllib.parse.quote(promql)
    with urllib.request.urlopen(url, timeout=5) as resp:
        result: list[dict[str, object]] = json.load(resp)["data"]["result"]
        return result


async def test_prometheus_scrapes_the_endpoint(tmp_path: Path) -> None:
    registry, hits = _registry()
    hits.labels(kind="scraped").inc(7)
    port = free_port()
    async with serving(metrics_app(registry), f"{LOOPBACK}:{port}"):
        prom = Prometheus(tmp_path / "prom", scrape_targets={"health": [f"{LOOPBACK}:{port}"]})
        await asyncio.to_thread(prom.start)
        try:

            async def scraped() -> list[dict[str, object]]:
                return await asyncio.to_thread(_query, prom.url, 'chatops_test_hits_total{job="health"}')

            found = await eventually(scraped, timeout=60, what="Prometheus storing the scraped series")
            up = await asyncio.to_thread(_query, prom.url, 'up{job="health"}')
        finally:
            await asyncio.to_thread(prom.stop)
    assert found[0]["metric"] == {
        "__name__": "chatops_test_hits_total",
        "instance": f"{LOOPBACK}:{port}",
        "job": "health",
        "kind": "scraped",
    }
    assert found[0]["value"][1] == "7"  # type: ignore[index]
    assert up[0]["value"][1] == "1"  # type: ignore[index]


# Each component, started with its HTTP port taken, says so in one line and exits 1 (no traceback).
TAKEN_PORT_CASES = {
    "ops": ({"OPS_METRICS_LISTEN": "{listen}"}, "ops.listen_failed", "/metrics"),
    "petstore": (
        {"PETSTORE_METRICS_LISTEN": "{listen}", "PETSTORE_LISTEN": f"{LOOPBACK}:0"},
        "petstore.listen_failed",
        "/metrics",
    ),
    "gateway": (
        {"GATEWAY_METRICS_LISTEN": "{listen}", "SLACK_BOT_TOKEN": "xoxb-1-test", "SLACK_SIGNING_SECRET": "s"},
        "gateway.start_failed",
        "/metrics",
    ),
    "notifier": (
        {"NOTIFIER_LISTEN": "{listen}", "NOTIFIER_TOKEN": "test-token-0123"},
        "notifier.listen_failed",
        "webhooks",
    ),
    "slackemu": ({"SLACKEMU_LISTEN": "{listen}"}, "slackemu.listen_failed", "Slack"),
}


@pytest.mark.parametrize("component", sorted(TAKEN_PORT_CASES))
def test_every_component_reports_a_taken_port_in_one_line(component: str, tmp_path: Path) -> None:
    variables, event, purpose = TAKEN_PORT_CASES[component]
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        listen = f"{LOOPBACK}:{taken.getsockname()[1]}"
        env = env_with(
            NATS_URL=f"nats://{LOOPBACK}:{free_port()}",
            **{name: value.format(listen=listen) for name, value in variables.items()},
        )
        argv = [sys.executable, "-m", component] + (["serve"] if component == "petstore" else [])
        done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if "cannot listen" in ln]
    assert event in line
    assert f"cannot listen for {purpose} on {listen}: " in line
    assert "address already in use" in line


def test_bus_gauge_follows_the_connection_at_every_scrape() -> None:
    from prometheus_client import generate_latest

    from chatops.health import BUS_CONNECTED, bus_gauge

    registry = CollectorRegistry()
    state = {"up": False}
    bus_gauge(registry, lambda: state["up"])

    def value() -> float:
        families = text_string_to_metric_families(generate_latest(registry).decode())
        [sample] = [s for f in families for s in f.samples if s.name == BUS_CONNECTED]
        return sample.value

    assert value() == 0.0
    state["up"] = True
    assert value() == 1.0
