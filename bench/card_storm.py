"""A storm on one alert card: 100 acks and unacks through `chatops.cmd.alerts.ack` / `alerts.unack` in
about a second, against `chatops up` (identities on, the offline Slack): how many chat.update calls
the card costs (at most the first at once, then one per ALERTS_CARD_INTERVAL, 2 s), how long after the
last event the card shows the last state, and whether it is right.

    .venv/bin/python -m bench.card_storm [--events 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import arguments
from chatops.bus import Caller, call
from chatops.contract import ALERTS_ACK, ALERTS_UNACK
from chatops.v1.cards_pb2 import ACK_OUTCOME_ACKED, ACK_OUTCOME_UNACKED, AckAlertRequest
from slackemu.client import EmulatorControl
from tools.harness.alerts import flat, top_level, webhook
from tools.harness.up import Up, running_up

INTERVAL = 2.0  # ALERTS_CARD_INTERVAL's default


async def card(control: EmulatorControl, channel: str, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for msg in top_level(await control.messages(channel)):
            if name in flat(msg) and "chatops_ack" in flat(msg):
                return msg
        await asyncio.sleep(0.2)
    raise RuntimeError(f"no card for {name} within 60 s")


def ref_of(msg: dict[str, Any]) -> str:
    for block in msg.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") == "chatops_ack":
                return str(element["value"])
    raise RuntimeError("no Ack button on the card")


async def storm(stack: Up, events: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.notifier_token}"}
    async with aiohttp.ClientSession() as http:
        body = webhook("CardStorm", [("h1", "firing")])
        async with http.post(f"{stack.ports.url('notifier')}/alerts", json=body, headers=headers) as resp:
            if resp.status != 200:
                raise RuntimeError(f"notifier answered {resp.status}")
    async with EmulatorControl(stack.ports.url("slackemu")) as control:
        state = await control.state()
        oncall = next(c["id"] for c in state["channels"] if c["name"] == "oncall")
        posted = await card(control, oncall, "CardStorm")
        ref = ref_of(posted)
        await control.clear_requests()
        nc = await stack.connect("console")
        try:
            started = time.monotonic()
            changed = 0
            for n in range(events):  # one after another: each one is a change of the card's state
                command = ALERTS_ACK if n % 2 == 0 else ALERTS_UNACK
                # A Caller per command: one request id each (a repeated id is a retry, stored once).
                caller = Caller(actor=f"console:storm{n % 3}", actor_name=f"storm{n % 3}")
                reply = await call(nc, command, AckAlertRequest(alert=ref), caller)
                changed += reply.outcome in (ACK_OUTCOME_ACKED, ACK_OUTCOME_UNACKED)
            # The last word: an unack if the storm ended acked, then an ack by someone new.
            if events % 2:
                await call(nc, ALERTS_UNACK, AckAlertRequest(alert=ref), Caller(actor="console:storm0"))
            final = await call(
                nc, ALERTS_ACK, AckAlertRequest(alert=ref), Caller(actor="console:final", actor_name="final")
            )
            changed += 1 + events % 2
            last = time.monotonic()
            seconds = last - started
            if final.outcome != ACK_OUTCOME_ACKED:
                raise RuntimeError(f"the final ack was not taken: {final.outcome}")
        finally:
            await nc.close()
        shown_at = None
        while time.monotonic() < last + 30:
            [msg] = [m for m in top_level(await control.messages(oncall)) if m["ts"] == posted["ts"]]
            if "Acked by `final`" in flat(msg) and "chatops_unack" in flat(msg):
                shown_at = time.monotonic()
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(INTERVAL * 2)  # anything still queued would show up now
        updates = [
            r
            for r in await control.requests("chat.update")
            if (r.get("args") or {}).get("ts") == posted["ts"]
        ]
    return {
        "events": changed,
        "seconds_sending": seconds,
        "events_per_second": changed / max(seconds, 1e-9),
        "chat_updates": len(updates),
        "bound_updates": 1 + math.ceil(seconds / INTERVAL),
        "final_card_after_last_event": (shown_at - last) if shown_at is not None else None,
        "final_card_right": shown_at is not None,
    }


def run(args: argparse.Namespace) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="card-storm-") as tmp,
        running_up(
            Path(tmp), "--no-demo-load", env={"LOG_LEVEL": "WARNING", "ALERT_GRAPHS": "false"}, timeout=120
        ) as stack,
    ):
        result = asyncio.run(storm(stack, args.events))
    after = result["final_card_after_last_event"]
    print(
        f"card storm: {result['events']} ack/unack events on one card in {result['seconds_sending']:.1f} s "
        f"({result['events_per_second']:.0f}/s): {result['chat_updates']} chat.update calls "
        f"(at most {result['bound_updates']}: the first at once, then one per {INTERVAL:g} s); final card "
        + (f"right {after:.2f} s after the last event" if after is not None else "NOT shown within 30 s")
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if result["final_card_right"] else 1


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--json", help="also write the result to this file")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
