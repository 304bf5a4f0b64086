"""The production shape under the issue's full load: 200 alerts in 20 groups while the node leading
CHATOPS_ALERTS is SIGKILLed (and restarted), then a gateway SIGKILLed mid-update; then a rolling
restart of every process (the three NATS nodes, both Alertmanagers, both of ops, the notifier and the
gateway), one at a time, under a trickle of alerts and chat commands. Prints what went wrong (nothing,
when every group is posted once, every resolve is on its own message and said once in its thread,
and every command is answered once), how many commands were answered, and each restart's seconds.

tests/chatops/test_scaled.py runs the same with 40 alerts in 8 groups and restarts one of each
replica; this runs the whole of it (about two minutes on two cores).

    .venv/bin/python -m bench.cluster_soak [--groups 20] [--alerts 200] [--json out.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import arguments
from tools.harness.cluster_runs import lose_a_node_then_a_gateway, rolling_restart
from tools.harness.scaled import Alerts, Chatter, Scaled


async def soak(shape: Scaled, groups: int, alerts: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    async with shape.slack.control() as control:
        await control.state()
        chatter = (await Chatter.new(control, "soak")).start()
        try:
            started = time.monotonic()
            burst = Alerts(shape.alertmanagers, groups, max(1, alerts // groups))
            result["failover_problems"] = await lose_a_node_then_a_gateway(shape, control, burst, chatter)
            result["failover_seconds"] = time.monotonic() - started
            parts = shape.parts()
            trickle = Alerts(shape.alertmanagers, len(parts) + 1, 2)
            started = time.monotonic()
            problems, took = await rolling_restart(shape, control, trickle, parts)
            result["rolling_problems"] = problems
            result["rolling_seconds"] = time.monotonic() - started
            result["restart_seconds"] = took
        finally:
            await chatter.stop()
        answers = await chatter.answers()
        result["commands"] = len(answers)
        result["commands_not_answered_once"] = {ts: n for ts, n in answers.items() if n != 1}
        result["command_p50_ms"] = statistics.median(chatter.latencies) * 1000
        result["stray_answers"] = len(await chatter.unthreaded())
    return result


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-cluster-soak-") as tmp:
        shape = Scaled(Path(args.keep) if args.keep else Path(tmp))
        try:
            shape.start()
            result = asyncio.run(soak(shape, args.groups, args.alerts))
        finally:
            shape.stop()
    print(
        f"{args.alerts} alerts in {args.groups} groups, the CHATOPS_ALERTS leader SIGKILLed and a gateway "
        f"SIGKILLed mid-update: {result['failover_seconds']:.0f} s, problems: "
        f"{result['failover_problems'] or 'none'}"
    )
    restarts = ", ".join(f"{name} {s:.1f}" for name, s in result["restart_seconds"].items())
    print(
        f"rolling restart of every process ({restarts} s): {result['rolling_seconds']:.0f} s, problems: "
        f"{result['rolling_problems'] or 'none'}"
    )
    print(
        f"chat commands during both: {result['commands']} sent, "
        f"{len(result['commands_not_answered_once'])} not answered exactly once, "
        f"{result['stray_answers']} answers outside a command's thread, p50 {result['command_p50_ms']:.0f} ms"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    clean = not (
        result["failover_problems"]
        or result["rolling_problems"]
        or result["commands_not_answered_once"]
        or result["stray_answers"]
    )
    return 0 if clean else 1


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--keep", help="run in this folder and keep it (every process's log) afterwards")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
