"""A burst of 1,000 alerts in 50 groups against a Slack that paces 1 message/s per channel (burst 5):
how many posts Slack answers 429, whether every group is posted once, and how long it takes against
the pacing floor (5 at once, then one a second: the 50th can go 45 s after the first).

The stack is `chatops up` (identities on) with the offline Slack pacing as Slack does; the 50 group
notifications reach the notifier's webhook at once, as Alertmanager sends them after its group_wait.

    .venv/bin/python -m bench.alert_burst [--groups 50] [--alerts 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import arguments
from slackemu.client import EmulatorControl
from tools.harness.alerts import webhook
from tools.harness.up import Up, running_up

RATE, BURST = 1.0, 5


def bodies(groups: int, alerts: int) -> list[dict[str, Any]]:
    per_group = max(1, alerts // groups)
    out = []
    for g in range(groups):
        body = webhook(f"BurstAlert{g:03d}", [(f"host-{i}", "firing") for i in range(per_group)])
        for alert in body["alerts"]:
            alert.pop("generatorURL", None)  # no graphs: the posts alone are measured
        out.append(body)
    return out


async def burst(stack: Up, groups: int, alerts: int) -> dict[str, Any]:
    url = f"{stack.ports.url('notifier')}/alerts"
    headers = {"Authorization": f"Bearer {stack.notifier_token}"}
    async with EmulatorControl(stack.ports.url("slackemu")) as control:
        state = await control.state()
        oncall = next(c["id"] for c in state["channels"] if c["name"] == "oncall")
        await control.clear_requests()
        names = [f"BurstAlert{g:03d}" for g in range(groups)]
        started = time.time()
        async with aiohttp.ClientSession() as http:

            async def send(body: dict[str, Any]) -> None:
                async with http.post(url, json=body, headers=headers) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"notifier answered {resp.status}")

            await asyncio.gather(*(send(b) for b in bodies(groups, alerts)))
        deadline = time.monotonic() + 10 * groups / RATE
        while True:
            posts = [
                r
                for r in await control.requests("chat.postMessage")
                if (r.get("args") or {}).get("channel") == oncall
                and not (r.get("args") or {}).get("thread_ts")
            ]
            accepted = [r for r in posts if r["ok"]]
            shown = {n: sum(n in json.dumps(r.get("args")) for r in accepted) for n in names}
            if all(shown.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
    refused = sum(1 for r in posts if r["status"] == 429)
    done = max(float(r["at"]) for r in accepted) if accepted else time.time()
    floor = (groups - BURST) / RATE
    return {
        "groups": groups,
        "posted": sum(1 for n in shown.values() if n),
        "posted_twice": sum(1 for n in shown.values() if n > 1),
        "rate_limited": refused,
        "seconds": done - started,
        "floor": floor,
    }


def run(args: argparse.Namespace) -> int:
    env = {"SLACKEMU_RATE_PER_SEC": str(RATE), "SLACKEMU_RATE_BURST": str(BURST)}
    with (
        tempfile.TemporaryDirectory(prefix="alert-burst-") as tmp,
        running_up(Path(tmp), "--no-demo-load", env={"LOG_LEVEL": "WARNING", **env}, timeout=120) as stack,
    ):
        result = asyncio.run(burst(stack, args.groups, args.alerts))
    print(
        f"alert burst: {args.alerts} alerts in {args.groups} groups, Slack pacing {RATE:g}/s per channel "
        f"(burst {BURST}): posted {result['posted']}/{args.groups} ({result['posted_twice']} twice), "
        f"answered 429 {result['rate_limited']} times, {result['seconds']:.1f} s "
        f"against a floor of {result['floor']:.0f} s ({result['seconds'] / result['floor']:.2f}x)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--json", help="also write the result to this file")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
