"""graph.render against a real Prometheus: a PNG over the bus, in protobuf and in JSON, and refusals."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from nats.aio.client import Client
from PIL import Image

from chatops.v1 import graphs_pb2
from ops.graphs.plan import HEIGHT, WIDTH
from tests.ops.conftest import StartOps, ask, error_of, reply_of
from tools.harness.ports import LOOPBACK
from tools.harness.servers import Prometheus, Silent, running
from tools.harness.wait import eventually

# Prometheus scrapes itself every second, so its own metrics have data within seconds.
RATE = "rate(prometheus_http_requests_total[1m])"


def self_scraping(workdir: Path) -> Prometheus:
    prom = Prometheus(workdir)
    prom.scrape_targets = {"prometheus": [f"{LOOPBACK}:{prom.port}"]}
    return prom.start()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    prom = self_scraping(tmp_path_factory.mktemp("prom"))
    try:
        yield prom
    finally:
        prom.stop()


def graph(query: str, **durations: timedelta) -> graphs_pb2.RenderGraphRequest:
    req = graphs_pb2.RenderGraphRequest(query=query)
    for name, value in durations.items():
        getattr(req, name).FromTimedelta(value)
    return req


def decoded(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


async def rendered(nc: Client, req: graphs_pb2.RenderGraphRequest) -> graphs_pb2.RenderGraphReply:
    """The reply once Prometheus has enough samples for the query (a rate needs two)."""

    async def drawn() -> graphs_pb2.RenderGraphReply | None:
        msg = await ask(nc, "graph.render", req)
        if error_of(msg)[0] == 404:  # no data yet
            return None
        reply: graphs_pb2.RenderGraphReply = reply_of(msg, "graph.render")
        return reply

    return await eventually(drawn, timeout=30, interval=0.5, what=f"{req.query} having data")


async def test_a_graph_comes_back_as_a_png_in_protobuf_and_in_plain_json(
    start_ops: StartOps, nc: Client, prometheus: Prometheus
) -> None:
    await start_ops(PROMETHEUS_URL=prometheus.url)
    reply = await rendered(nc, graph(RATE, range=timedelta(minutes=10)))
    image = decoded(reply.png)
    assert image.size == (WIDTH, HEIGHT) == (reply.width, reply.height)
    colours = image.convert("RGB").getcolors(maxcolors=WIDTH * HEIGHT) or []
    assert len(colours) > 20, "a blank or one-colour picture"
    assert reply.query == RATE and reply.series_total >= 1
    assert reply.series_shown == min(reply.series_total, 10)
    assert reply.step.ToTimedelta() == timedelta(seconds=5)
    assert reply.end.ToDatetime() - reply.start.ToDatetime() == timedelta(minutes=10)

    # Any tool on the bus, no generated code: JSON in, JSON out, the PNG in base64.
    body = json.dumps({"query": "up", "range": "300s", "title": "targets up", "thresholds": [0.5]})
    msg = await nc.request(
        "chatops.cmd.graph.render",
        body.encode(),
        timeout=30,
        headers={"Content-Type": "application/json", "Chatops-Actor": "shell:me"},
    )
    assert error_of(msg) == (0, "")
    answer = json.loads(msg.data)
    assert decoded(base64.b64decode(answer["png"])).size == (WIDTH, HEIGHT)
    assert answer["title"] == "targets up" and answer["series_total"] == 1


async def test_bad_queries_and_limits_are_one_line_400s_and_no_data_is_404(
    start_ops: StartOps, nc: Client, prometheus: Prometheus
) -> None:
    await start_ops(PROMETHEUS_URL=prometheus.url, GRAPH_MAX_SERIES=10)
    await rendered(nc, graph(RATE, range=timedelta(minutes=10)))  # Prometheus has scraped itself twice

    async def refused(req: graphs_pb2.RenderGraphRequest) -> tuple[int, str]:
        code, text = error_of(await ask(nc, "graph.render", req))
        assert "\n" not in text
        return code, text

    code, text = await refused(graph("rate(prometheus_http_requests_total[1m]"))
    assert code == 400 and text.startswith("Prometheus refused the query: ") and "parse error" in text
    assert await refused(graph("up", range=timedelta(days=8))) == (
        400,
        "the range 8d is too long: a graph covers at most 7d",
    )
    code, text = await refused(graph("up", range=timedelta(hours=2), step=timedelta(seconds=1)))
    assert code == 400 and "over the limit of 1000: use a step of 8s or more" in text
    # Every histogram bucket of every handler: far more series than the limit of 10.
    code, text = await refused(graph("prometheus_http_request_duration_seconds_bucket"))
    assert code == 400 and "over the limit of 10" in text
    code, text = await refused(graph('up{job="nothing-here"}'))
    assert (code, text) == (404, 'no data: up{job="nothing-here"} returned nothing over 1h')


async def test_prometheus_stopped_is_502_and_silent_is_504(
    start_ops: StartOps, nc: Client, tmp_path: Path
) -> None:
    prom = self_scraping(tmp_path / "prom")
    try:
        await start_ops(PROMETHEUS_URL=prom.url, OPS_BACKEND_TIMEOUT=1.0)
        await rendered(nc, graph("up", range=timedelta(minutes=5)))
    finally:
        prom.stop()
    code, text = error_of(await ask(nc, "graph.render", graph("up")))
    assert code == 502 and text.startswith("Prometheus is unreachable at")

    with running(Silent()) as silent:
        await start_ops(PROMETHEUS_URL=silent.url, OPS_BACKEND_TIMEOUT=1.0)
        # Both ops answer in the queue group; ask until the silent one has answered once.
        codes = set()
        for _ in range(20):
            codes.add(error_of(await ask(nc, "graph.render", graph("up")))[0])
            if 504 in codes:
                break
        assert 504 in codes
