"""`make bench`: every benchmark, one after another, and one table of what each measured against the
floor it measured in the same run (the ratio is ours over the floor: 1.00 is as good as the floor).

Each benchmark runs as its own process (`python -m bench.<name> --json FILE`) and prints its own
details first; the table comes last. Takes about twenty-five minutes on two cores.

    .venv/bin/python -m bench.all [--quick]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import arguments

Row = tuple[str, str, str, str]  # measure, ours, floor, ratio


def run(module: str, args: list[str], out: Path) -> tuple[Any, int]:
    """Run one benchmark: its JSON (None when it wrote none; its own output says why) and exit code."""
    started = time.monotonic()
    print(f"\n== bench.{module} {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", f"bench.{module}", *args, "--json", str(out)], check=False)
    print(f"   ({time.monotonic() - started:.0f} s, exit {done.returncode})", flush=True)
    return (json.loads(out.read_text()) if out.exists() else None), done.returncode


def ops_rows(data: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for r in data:
        for i, p in enumerate(("p50", "p99")):
            rows.append(
                (
                    f"ops {r['command']}, {r['clients']} client{'s' if r['clients'] > 1 else ''}, {p}",
                    f"{r['ops_ms'][i]:.2f} ms",
                    f"{r['floor_ms'][i]:.2f} ms",
                    f"{r['ratio'][i]:.2f}",
                )
            )
    return rows


def path_rows(data: dict[str, Any]) -> list[Row]:
    return [
        (
            "alert path: Alertmanager -> Slack, p50",
            f"{data['ours_p50_ms']:.0f} ms",
            f"{data['floor_p50_ms']:.0f} ms (its own slack_configs)",
            f"{data['ours_p50_ms'] / data['floor_p50_ms']:.2f}",
        )
    ]


def burst_rows(data: dict[str, Any]) -> list[Row]:
    return [
        (
            f"burst: {data['groups']} groups posted once",
            f"{data['posted'] - data['posted_twice']}/{data['groups']}",
            f"{data['groups']}/{data['groups']}",
            "",
        ),
        ("burst: posts Slack answered 429", str(data["rate_limited"]), "at most 5", ""),
        (
            "burst: time to post every group",
            f"{data['seconds']:.1f} s",
            f"{data['floor']:.0f} s (Slack's pace)",
            f"{data['seconds'] / data['floor']:.2f}",
        ),
    ]


def ingest_rows(data: dict[str, Any]) -> list[Row]:
    return [
        (
            "notifier ingest, 16 clients",
            f"{data['ours_rps']:.0f} req/s",
            f"{data['floor_rps']:.0f} req/s (bare aiohttp + JetStream ack)",
            f"{data['floor_rps'] / data['ours_rps']:.2f}",
        )
    ]


def memory_rows(data: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for r in data:
        after = r["after_mb"]
        loads = ", ".join(str(i) for i in range(1, len(after) + 1))
        rows.append(
            (
                f"memory {r['component']}: after load{'s' if len(after) > 1 else ''} {loads} / idle"
                + ("" if r.get("limited", True) else " (not ours)"),
                " / ".join(f"{mb:.0f}" for mb in after) + " MB",
                f"{r['idle_mb']:.0f} MB",
                " / ".join(f"{mb - r['idle_mb']:+.1f}" for mb in after) + " MB",
            )
        )
    return rows


def cluster_rows(data: dict[str, Any]) -> list[Row]:
    lat, commands, posts = data["latency_ms"], data["commands_per_s"], data["alert_posts_per_s"]
    rows: list[Row] = [
        (
            f"command latency, 3 nodes at R3, {p}",
            f"{lat['cluster'][i]:.1f} ms",
            f"{lat['single'][i]:.1f} ms (one node)",
            f"{lat['cluster'][i] / lat['single'][i]:.2f}",
        )
        for i, p in enumerate(("p50", "p99"))
    ]
    # Not floors: the same shape with one replica, for what the second adds on this machine.
    rows.append(
        (
            "commands/s, 2 ops replicas",
            f"{statistics.median(commands['2']):.0f}",
            f"{statistics.median(commands['1']):.0f} (1 replica)",
            "",
        )
    )
    rows.append(
        (
            "alert posts/s, 2 gateways",
            f"{statistics.median(posts['2']):.0f}",
            f"{statistics.median(posts['1']):.0f} (1 gateway)",
            "",
        )
    )
    return rows


def card_rows(data: dict[str, Any]) -> list[Row]:
    after = data["final_card_after_last_event"]
    return [
        (
            f"card storm: {data['events']} acks/unacks on one card in {data['seconds_sending']:.1f} s, "
            "chat.update calls",
            str(data["chat_updates"]),
            f"{data['bound_updates']} (one per ALERTS_CARD_INTERVAL)",
            f"{data['chat_updates'] / data['bound_updates']:.2f}",
        ),
        (
            "card storm: final card shown after the last event",
            f"{after:.2f} s" if after is not None else "never",
            "",
            "",
        ),
    ]


def table(rows: list[Row]) -> str:
    head: Row = ("measure", "ours", "floor (same run)", "ours / floor")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"
    lines = [line, "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and less load (a smoke run)")
    args = parser.parse_args()
    quick = args.quick
    plan: list[tuple[str, list[str], Any]] = [
        ("ops_overhead", ["--rounds", "3" if quick else "10"], ops_rows),
        ("alert_path", ["--alerts", "5" if quick else "20"], path_rows),
        ("alert_burst", ["--groups", "10", "--alerts", "200"] if quick else [], burst_rows),
        ("notifier_ingest", ["--requests", "300", "--rounds", "2"] if quick else [], ingest_rows),
        ("card_storm", [], card_rows),
        ("memory", ["--commands", "2000", "--notifications", "200"] if quick else [], memory_rows),
        (
            "cluster",
            ["--seconds", "3", "--rounds", "1", "--groups", "20", "--latency", "100"] if quick else [],
            cluster_rows,
        ),
    ]
    rows: list[Row] = []
    failed: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for module, extra, to_rows in plan:
            data, code = run(module, extra, Path(tmp) / f"{module}.json")
            if code != 0:
                failed.append(f"{module} (exit {code})")
            if data is None:
                rows.append((f"{module}: did not finish", "", "", ""))
            else:
                rows += to_rows(data)
    print(f"\nmake bench: every benchmark in {time.monotonic() - started:.0f} s on this machine\n")
    print(table(rows))
    if failed:
        print(f"\nfailed: {', '.join(failed)} (its output above says why)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
