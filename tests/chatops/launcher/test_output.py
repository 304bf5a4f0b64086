"""The interleaved output: whole lines, one prefix each, colour only when asked."""

from __future__ import annotations

import io

from chatops.launcher.output import Output, Row, colour_for, table


def test_lines_are_prefixed_and_padded_to_the_widest_name():
    buf = io.StringIO()
    out = Output(buf, ["nats", "alertmanager"], colour=False)
    out.line("nats", "listening\n")
    out.note("starting\nsecond line")
    assert buf.getvalue().splitlines() == [
        "nats         | listening",
        "up           | starting",
        "up           | second line",
    ]


def test_colour_wraps_only_the_prefix_and_is_stable_per_name():
    buf = io.StringIO()
    out = Output(buf, ["nats", "ops"], colour=True)
    out.line("ops", "hello")
    text = buf.getvalue()
    assert text.startswith(f"\x1b[{colour_for('ops', ['nats', 'ops'])}m")
    assert text.endswith("\x1b[0mhello\n")
    assert colour_for("nats", ["nats", "ops"]) != colour_for("ops", ["nats", "ops"])


def test_table_lists_every_component():
    text = table(
        [
            Row("nats", "nats://127.0.0.1:4222", 12, "/d/logs/nats.log"),
            Row("gateway", "the offline Slack", 13, "/d/logs/gateway.log"),
        ]
    )
    lines = text.splitlines()
    assert lines[0].split() == ["component", "where", "pid", "log"]
    assert any(line.startswith("nats") and "4222" in line for line in lines)
    assert any(line.startswith("gateway") and "13" in line for line in lines)
