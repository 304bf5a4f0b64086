"""The workspace kept in a file: everything comes back after a restart, and a damaged file is set aside."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from slackemu import persist
from slackemu.state import Workspace, default_workspace
from tools.harness.slackemu import SlackEmulator


def busy_workspace() -> Workspace:
    ws = default_workspace()
    oncall = ws.channel("oncall").id
    alice = ws.user_by_name("alice").id
    guest = ws.add_user("gus", "Gus Guest", team_id="T0OTHER01")
    first = ws.post(
        oncall,
        ws.bot_user_id,
        "alert firing",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    )
    ws.update(oncall, first.ts, text="alert firing (edited)", blocks=None)
    ws.react(oncall, first.ts, "eyes", alice, add=True)
    ws.post(oncall, alice, "on it", thread_ts=first.ts)
    ws.post(oncall, ws.bot_user_id, "only you", ephemeral_to=alice)
    gone = ws.post(oncall, guest.id, "oops")
    ws.delete(oncall, gone.ts)
    ws.open_im(alice)
    ws.post(
        oncall,
        ws.bot_user_id,
        "marked",
        metadata={"event_type": "chatops_alert", "event_payload": {"n": "1"}},
    )
    ws.set_channel(ws.channel("general").id, bot_member=False, archived=True)
    extras = ws.post(oncall, ws.bot_user_id, "with extras")
    ws.messages[oncall][-1] = replace(
        extras, files=({"id": "F1", "name": "graph.png"},), attachments=({"text": "from a webhook"},)
    )
    return ws


def test_a_workspace_comes_back_whole(tmp_path: Path) -> None:
    ws = busy_workspace()
    path = tmp_path / "slack.json"
    persist.save(persist.to_json(ws), path)
    back = persist.load(path)
    assert back is not None
    assert back.snapshot() == ws.snapshot()
    for channel in ws.channels:
        assert [m.to_record() for m in back.listing(channel)] == [m.to_record() for m in ws.listing(channel)]
    assert back.user_by_name("gus").team_id == "T0OTHER01"
    # Counters go on from where they were: no id or ts is handed out twice.
    old_ids = {*ws.users, *ws.channels}
    assert back.add_user("new").id not in old_ids and back.add_channel("new").id not in old_ids
    newest = max(m.ts for msgs in ws.messages.values() for m in msgs)
    assert float(back.post("#oncall", back.bot_user_id, "later").ts) > float(newest)
    assert "xoxb" not in path.read_text()  # tokens are settings, never state


def test_a_damaged_file_is_set_aside_and_the_emulator_starts_fresh(tmp_path: Path) -> None:
    path = tmp_path / "slack.json"
    path.write_text('{"format": 1, "users": [')
    assert persist.load(path) is None
    assert not path.exists() and (tmp_path / "slack.json.damaged").exists()
    path.write_text(json.dumps({"format": 99}))
    assert persist.load(path) is None
    assert persist.load(tmp_path / "never-written.json") is None


async def test_a_restarted_emulator_shows_what_it_showed(tmp_path: Path) -> None:
    state = tmp_path / "slack.json"
    first = SlackEmulator(tmp_path / "one")
    first.env["SLACKEMU_STATE_FILE"] = str(state)
    first.start()
    try:
        async with first.control() as control:
            await control.state()
            oncall = await control.channel_id("oncall")
            alice = await control.user_id("alice")
            guest = await control.create_user("gus", "Gus Guest", team_id="T0OTHER01")
            ts = await control.post_message(alice, oncall, "before the restart")
    finally:
        first.stop()  # SIGTERM: the last changes are written on the way out
    second = SlackEmulator(tmp_path / "two")
    second.env["SLACKEMU_STATE_FILE"] = str(state)
    second.start()
    try:
        async with second.control() as control:
            assert await control.channel_id("oncall") == oncall
            assert await control.user_id("gus") == guest
            texts = {m["ts"]: m["text"] for m in await control.messages(oncall)}
            assert texts[ts] == "before the restart"
    finally:
        second.stop()
