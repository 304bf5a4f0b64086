"""What our alert path adds: Alertmanager -> notifier -> JetStream -> gateway -> Slack, against
Alertmanager's own slack_configs posting straight to the same Slack (the emulator), in one run.

One real Alertmanager routes every group to both receivers (`continue: true`), so each notification
leaves Alertmanager for both paths at the same moment. For each alert the emulator's request log gives
when each path's chat.postMessage arrived (one clock); the difference is the latency our path adds.
Alerts are pushed to Alertmanager's API one group at a time, spaced so Slack's 1 msg/s per channel
rate limit does not dominate.

    .venv/bin/python bench/alert_path.py [--alerts 20] [--spacing 1.5]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import arguments

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.harness import components  # noqa: E402
from tools.harness.alerts import push_alert  # noqa: E402
from tools.harness.components import NOTIFIER_TOKEN  # noqa: E402
from tools.harness.servers import Alertmanager, NatsServer  # noqa: E402
from tools.harness.slackemu import SlackEmulator  # noqa: E402


def am_config(notifier_url: str, slack_api: str, bot_token: str, direct_channel: str) -> dict[str, Any]:
    return {
        "route": {
            "receiver": "chatops-notifier",
            "group_by": ["alertname"],
            "group_wait": "0s",
            "group_interval": "1m",
            "repeat_interval": "1h",
            "routes": [
                {"receiver": "chatops-notifier", "continue": True},
                {"receiver": "direct-slack"},
            ],
        },
        "receivers": [
            {
                "name": "chatops-notifier",
                "webhook_configs": [
                    {
                        "url": f"{notifier_url}/alerts",
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": NOTIFIER_TOKEN}},
                    }
                ],
            },
            {
                "name": "direct-slack",
                "slack_configs": [
                    {
                        # chat.postMessage takes the same JSON as an incoming webhook, with a bearer token.
                        "api_url": f"{slack_api}chat.postMessage",
                        "channel": direct_channel,
                        "send_resolved": False,
                        "title": "{{ .CommonLabels.alertname }}",
                        "http_config": {"authorization": {"type": "Bearer", "credentials": bot_token}},
                    }
                ],
            },
        ],
    }


def arrival(requests: list[dict[str, Any]], channel: str, name: str) -> float | None:
    """When the first accepted chat.postMessage for `name` reached `channel`."""
    for req in requests:
        args = req.get("args") or {}
        if (
            req["method"] == "chat.postMessage"
            and req["ok"]
            and args.get("channel") == channel
            and not args.get("thread_ts")
            and name in json.dumps(args)
        ):
            return float(req["at"])
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(alerts: int, spacing: float, workdir: Path, result: dict[str, float]) -> int:
    nats_server = NatsServer(workdir / "nats", identities=True).start()
    slack = SlackEmulator(workdir / "slack", rate_per_sec=1.0, rate_burst=4.0).start()
    parts: list[Any] = [nats_server, slack]
    try:
        async with slack.control() as control:
            await control.state()
            ours = await control.create_channel("bench-chatops")
            direct = await control.create_channel("bench-direct")
            hook = components.notifier(workdir / "notifier", nats_server).start()
            parts.append(hook)
            am = Alertmanager(
                workdir / "am", config=am_config(hook.url, slack.api_url, slack.bot_token, direct)
            ).start()
            parts.append(am)
            gw = components.gateway(workdir / "gw", nats_server, slack, SLACK_ONCALL_CHANNEL=ours)
            parts.append(gw.start())
            await control.wait_connected()

            names = [f"BenchAlert{i:03d}" for i in range(alerts)]
            # A warm-up alert that reached both channels: both paths are ready, later ones leave at once.
            await push_alert(am.url, "BenchWarmUp", "bench alert BenchWarmUp")
            await control.wait_for_message(ours, timeout=120)
            await control.wait_for_message(direct, timeout=120)
            await asyncio.sleep(spacing)
            pushed: dict[str, float] = {}
            for name in names:
                pushed[name] = time.time()
                await push_alert(am.url, name, f"bench alert {name}")
                await asyncio.sleep(spacing)

            deadline = asyncio.get_running_loop().time() + 120
            while True:
                requests = await control.requests("chat.postMessage")
                pairs = {n: (arrival(requests, direct, n), arrival(requests, ours, n)) for n in names}
                if all(a is not None and b is not None for a, b in pairs.values()):
                    break
                if asyncio.get_running_loop().time() > deadline:
                    missing = [n for n, (a, b) in pairs.items() if a is None or b is None]
                    print(f"not delivered within 120 s: {missing}", file=sys.stderr)
                    return 1
                await asyncio.sleep(0.5)
    finally:
        for part in reversed(parts):
            part.stop()

    added = [(b - a) * 1000 for a, b in pairs.values() if a is not None and b is not None]
    # From the push to Alertmanager: its own integration's time is the floor ours is compared with.
    theirs = [(a - pushed[n]) * 1000 for n, (a, _) in pairs.items() if a is not None]
    mine = [(b - pushed[n]) * 1000 for n, (_, b) in pairs.items() if b is not None]
    retried = sum(1 for r in requests if r["status"] != 200)
    print(
        f"alerts: {alerts} (one group each, {spacing:g} s apart), Alertmanager group_wait 0s; "
        f"Slack answers other than 200: {retried}"
    )
    print("added latency of notifier -> JetStream -> gateway vs Alertmanager's own slack_configs (ms):")
    print(
        f"  p50 {statistics.median(added):8.1f}   p95 {percentile(added, 0.95):8.1f}   "
        f"max {max(added):8.1f}   min {min(added):8.1f}   mean {statistics.fmean(added):8.1f}"
    )
    print(
        f"from the push to Alertmanager, p50: ours {statistics.median(mine):.1f} ms, "
        f"Alertmanager's own {statistics.median(theirs):.1f} ms"
    )
    result.update(
        added_p50_ms=statistics.median(added),
        ours_p50_ms=statistics.median(mine),
        floor_p50_ms=statistics.median(theirs),
    )
    return 0


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--spacing", type=float, default=1.5, help="seconds between alert groups")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="alert-path-") as tmp:
        code = asyncio.run(run(args.alerts, args.spacing, Path(tmp), result))
    if args.json and result:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
