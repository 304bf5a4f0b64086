"""Alert graphs: the rule's expression and threshold; delivery never waits for a graph nor loses to one."""

from __future__ import annotations

import asyncio
import copy
import io
from typing import Any
from urllib.parse import quote_plus

import pytest
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client
from PIL import Image
from slack_sdk.web.async_client import AsyncWebClient

from chatops.bus import Caller, OpsNotRunning
from chatops.contract import Command
from chatops.v1 import graphs_pb2
from chatops.v1.events_pb2 import AlertInstance, AlertNotification
from gateway.alerts import AlertDelivery, AlertGraphs
from gateway.alerts.expression import Graphable, expression_of, split_threshold
from gateway.alerts.graphs import graph_request, jobs_for
from gateway.slack.chat import SlackChat
from tests.gateway.alerts.conftest import Slack
from tools.harness.alerts import fixture, flat, replies, store, top_level, webhook
from tools.harness.wait import eventually

DEMO_RULE = """sum by (job) (rate(petstore_request_errors_total[1m]))
  / sum by (job) (rate(petstore_requests_total[1m])) > 0.05"""


def generator_url(expr: str) -> str:
    return f"http://127.0.0.1:9090/graph?g0.expr={quote_plus(expr)}&g0.tab=1"


@pytest.mark.parametrize(
    ("expr", "graphable"),
    [
        (DEMO_RULE, Graphable(DEMO_RULE.rsplit(">", 1)[0].strip(), 0.05)),
        ('up{job="petstore"} == 0', Graphable('up{job="petstore"}', 0.0)),
        (
            "0.5 < histogram_quantile(0.99, rate(x_bucket[5m]))",
            Graphable("histogram_quantile(0.99, rate(x_bucket[5m]))", 0.5),
        ),
        ('x{path=~"/a>b", code!="5.."} >= -1e-3', Graphable('x{path=~"/a>b", code!="5.."}', -0.001)),
        ("x > (5)", Graphable("x", 5.0)),
        ("vector(1)", Graphable("vector(1)")),
        ("x > bool 1", Graphable("x > bool 1")),  # every point kept: nothing to split
        ("a > on(job) b", Graphable("a > on(job) b")),  # two vectors, no number
        ("a > 1 and b < 2", Graphable("a > 1 and b < 2")),
        ("a > 1 < 5", Graphable("a > 1 < 5")),
        ("absent(up{job='x'})", Graphable("absent(up{job='x'})")),
    ],
)
def test_the_threshold_is_split_off_a_top_level_comparison_with_a_number(
    expr: str, graphable: Graphable
) -> None:
    assert split_threshold(expr) == graphable


@given(st.text(max_size=80))
def test_any_expression_splits_without_raising_and_keeps_its_text(expr: str) -> None:
    got = split_threshold(expr)
    assert got.query == expr.strip() or (got.threshold is not None and got.query and got.query in expr)


def test_the_expression_comes_from_g0_expr() -> None:
    assert expression_of(generator_url(DEMO_RULE)) == DEMO_RULE
    assert expression_of("http://prom/graph?g0.tab=1") == ""
    assert expression_of("") == expression_of("::not a url") == ""


def note(*exprs: str, name: str = "PetstoreErrorRatioHigh") -> AlertNotification:
    n = AlertNotification(group_key=f'{{}}:{{alertname="{name}"}}', status="firing", severity="warning")
    n.common_labels["alertname"] = name
    for i, expr in enumerate(exprs):
        n.alerts.append(
            AlertInstance(
                status="firing",
                labels={"alertname": name, "instance": f"i{i}"},
                generator_url=generator_url(expr) if expr else "",
            )
        )
    return n


def test_one_graph_per_distinct_expression_at_most_three() -> None:
    jobs = jobs_for(note(DEMO_RULE, DEMO_RULE, "", "up == 0", "a > 1", "b > 2"), "C1", "1.5")
    assert [(j.channel, j.thread_ts, j.alertname) for j in jobs] == [
        ("C1", "1.5", "PetstoreErrorRatioHigh")
    ] * 3
    assert [j.graphable.threshold for j in jobs] == [0.05, 0.0, 1.0]
    req = graph_request(jobs[0])
    assert req.range.ToSeconds() == 3600 and list(req.thresholds) == [0.05]
    assert req.query.startswith("sum by (job)") and not req.query.endswith("0.05")
    assert req.title.startswith(
        "PetstoreErrorRatioHigh: sum by (job) (rate(petstore_request_errors_total[1m])) /"
    )


class Recorded:
    """An Asker for graph.render that draws a real PNG, or misbehaves as told."""

    def __init__(self, mode: str = "draw") -> None:
        self.mode = mode
        self.requests: list[graphs_pb2.RenderGraphRequest] = []
        self.never = asyncio.Event()

    async def __call__(self, command: Command[Any, Any], request: Message, caller: Caller) -> Message:
        assert isinstance(request, graphs_pb2.RenderGraphRequest) and caller.source == "alerts"
        self.requests.append(request)
        if self.mode == "hang":
            await self.never.wait()
        if self.mode == "down":
            raise OpsNotRunning("the Ops service is not answering")
        image = Image.new("RGB", (120, 64), (31, 119, 180))
        out = io.BytesIO()
        image.save(out, format="PNG")
        reply = graphs_pb2.RenderGraphReply(png=out.getvalue(), width=120, height=64, query=request.query)
        reply.series_total = reply.series_shown = 1
        reply.start.FromSeconds(1_767_362_400)
        reply.end.FromSeconds(1_767_366_000)
        reply.step.FromSeconds(15)
        return reply


def with_rule(body: dict[str, Any], expr: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for alert in body["alerts"]:
        alert["generatorURL"] = generator_url(expr)
    return body


def count(graphs: AlertGraphs, outcome: str) -> float:
    return graphs.registry.get_sample_value("chatops_gateway_alert_graphs_total", {"outcome": outcome}) or 0.0


async def delivering(js: Client, slack: Slack, ask: Recorded) -> tuple[AlertDelivery, AlertGraphs]:
    graphs = AlertGraphs(chat=SlackChat(slack.client), ask=ask)
    graphs.start()
    delivery = slack.delivery(js, after_post=graphs.after_post)
    await delivery.start()
    return delivery, graphs


async def test_the_graph_follows_the_alert_message_in_its_thread(js_ready: Client, slack: Slack) -> None:
    ask = Recorded()
    delivery, graphs = await delivering(js_ready, slack, ask)
    try:
        await store(js_ready, with_rule(fixture("webhook-01-firing-AlwaysFiring.json"), DEMO_RULE))
        posted = await slack.control.wait_for_message(slack.oncall, timeout=30)
        assert "FIRING" in flat(posted) and not posted.get("files")
        shared = await slack.control.wait_for_message(slack.oncall, thread_ts=posted["ts"], timeout=30)
        [file] = shared["files"]
        assert file["mimetype"] == "image/png" and file["original_w"] == 120
        assert "AlwaysFiring over the last 1h" in shared["text"]
        assert "the red line: 0.05, where the rule fires" in shared["text"]
        [request] = ask.requests
        assert list(request.thresholds) == [0.05] and request.range.ToSeconds() == 3600

        async def counted() -> bool:  # the emulator shows the file before the upload call returns
            return count(graphs, "shared") == 1

        await eventually(counted, what="the shared graph counted")
    finally:
        await delivery.stop()
        await graphs.stop()


async def test_a_graph_that_hangs_or_fails_neither_delays_nor_repeats_any_alert(
    js_ready: Client, slack: Slack
) -> None:
    hanging = Recorded("hang")
    delivery, graphs = await delivering(js_ready, slack, hanging)
    try:
        for group in ("First", "Second"):
            await store(js_ready, with_rule(webhook(group, [("h1", "firing")]), "x > 1"))

        async def both() -> list[dict[str, Any]] | None:
            tops = top_level(await slack.control.messages(slack.oncall))
            return tops if len(tops) == 2 and hanging.requests else None

        # The first graph never comes (its request may leave a moment after both posts); the second
        # alert is posted all the same, and no second graph is asked for while the first hangs.
        tops = await eventually(both, what="both alert messages while the first graph hangs")
        assert len(hanging.requests) == 1
    finally:
        await delivery.stop()
        await graphs.stop()  # gives the hanging graph up

    down = Recorded("down")
    delivery, graphs = await delivering(js_ready, slack, down)
    try:
        body = with_rule(fixture("webhook-02-firing-ShortLived.json"), "y > 2")
        await store(js_ready, body)

        async def third() -> list[dict[str, Any]] | None:
            found = top_level(await slack.control.messages(slack.oncall))
            return found if len(found) == 3 and down.requests else None

        tops = await eventually(third, what="the third alert, whose graph fails")

        async def counted() -> bool:
            return count(graphs, "failed") == 1

        await eventually(counted, what="the failed graph counted")

        async def all_acked() -> bool:
            info = await js_ready.jetstream().consumer_info("CHATOPS_ALERTS", "chatops-gateway-alerts")
            return bool(info.num_ack_pending == 0 and info.num_pending == 0)

        await eventually(all_acked, what="every alert acked, none to deliver again")
    finally:
        await delivery.stop()
        await graphs.stop()
    messages = await slack.control.messages(slack.oncall)
    assert len(top_level(messages)) == 3
    assert all(not replies(messages, m["ts"]) for m in tops)  # no graph, no error noise in threads


async def test_a_full_queue_drops_graphs_and_says_so() -> None:
    ask = Recorded("hang")
    graphs = AlertGraphs(chat=SlackChat(AsyncWebClient()), ask=ask, queue_size=1)
    graphs.after_post(note("a > 1", "b > 2", "c > 3"), "C1", "1.1")  # not started: nothing is taken
    assert count(graphs, "dropped") == 2 and ask.requests == []
