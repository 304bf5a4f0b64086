"""A Confirm or Cancel click on a pending change: run it once, for the user who asked, or drop it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from chatops import actors, codec, logs
from chatops.bus import Caller
from chatops.codec import CodecError
from chatops.v1.records_pb2 import PendingConfirmation
from gateway.commands import Request
from gateway.commands.table import BY_COMMAND
from gateway.confirmations import Confirmations, expired
from gateway.flow import Asker, new_traceparent, run
from gateway.metrics import GatewayMetrics
from gateway.render.doc import Mention
from gateway.render.slack import mrkdwn
from gateway.slack.admission import Admission
from gateway.slack.blocks import CANCEL, resolved_message
from gateway.slack.chat import Chat
from gateway.slack.events import ButtonClick

log = logs.get_logger(__name__)
# (request id, channel, ts, who confirmed, the command as typed in backticks): the message a change's
# progress events will update (deploys), under "Confirmed by <who>: <command>".
ThreadNotes = Callable[[str, str, str, str, str], Awaitable[None]]


class ConfirmClicks:
    """Finishes a confirmation stored in KV on its button click; any replica can take the click."""

    def __init__(
        self,
        *,
        chat: Chat,
        ask: Asker,
        confirmations: Confirmations,
        metrics: GatewayMetrics,
        admission: Admission | None = None,
        follow: ThreadNotes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chat, self.ask, self.confirmations, self.metrics = chat, ask, confirmations, metrics
        self.admission, self.follow, self.clock = admission, follow, clock

    async def on_click(self, click: ButtonClick) -> None:
        """Confirm runs the change (only for the user who asked); Cancel or expiry drops it."""
        if self.admission and self.admission.refusal(click.origin):
            self.metrics.clicks.labels("refused_origin").inc()
            log.warning("slack.click_refused_origin", user=click.user, origin=",".join(click.origin))
            await self.chat.ephemeral(click.channel, click.user, mrkdwn(self.admission.refusal(click.origin)))
            return
        found = await self.confirmations.get(click.value)
        if found is None:
            self.metrics.clicks.labels("stale").inc()
            await self.chat.update(
                click.channel,
                click.message_ts,
                resolved_message("This request was already handled or has expired."),
            )
            return
        pending, revision = found
        owner = actors.slack_user(pending.actor)
        if actors.slack(click.user) != pending.actor:
            self.metrics.clicks.labels("not_owner").inc()
            await self.chat.ephemeral(
                click.channel,
                click.user,
                mrkdwn(("Only ", Mention(owner), " can confirm or cancel this.")),
                pending.thread_ts,
            )
            return
        if not await self.confirmations.take(pending.id, revision):
            self.metrics.clicks.labels("taken").inc()
            return  # another click or replica is handling it
        ts = click.message_ts or pending.message_ts
        if expired(pending, self.clock()):
            self.metrics.clicks.labels("expired").inc()
            await self.chat.update(
                click.channel, ts, resolved_message(f"Expired: `{pending.text}` was not run.")
            )
            return
        if click.action_id == CANCEL:
            self.metrics.clicks.labels("cancelled").inc()
            await self.chat.update(
                click.channel,
                ts,
                resolved_message(("Cancelled by ", Mention(owner), f": `{pending.text}` was not run.")),
            )
            return
        req = _request_of(pending)
        if req is None:
            # Saved by a newer gateway for a command this one does not know (a rolling upgrade).
            self.metrics.clicks.labels("unknown").inc()
            await self.chat.update(
                click.channel,
                ts,
                resolved_message(f"`{pending.text}` was not run: this gateway cannot run it."),
            )
            return
        self.metrics.clicks.labels("confirmed").inc()
        await self.chat.update(click.channel, ts, resolved_message(f"Running `{pending.text}` (confirmed)…"))
        caller = _caller_of(pending)
        note = ("Confirmed by ", Mention(owner), f": `{pending.text}`")
        follows = req.spec.progress_in_events and self.follow is not None
        if follows and self.follow is not None:
            # Before the command goes out, so that its first event already finds this message.
            await self.follow(caller.request_id, click.channel, ts, owner, f"`{pending.text}`")
        answer = await run(req, caller, self.ask)
        self.metrics.commands.labels(pending.command, answer.outcome).inc()
        if follows and answer.outcome == "ok":
            return  # the deploy's events update the message from here on, step by step
        await self.chat.update(click.channel, ts, resolved_message(note, answer.doc))


def _request_of(pending: PendingConfirmation) -> Request | None:
    """The saved request, or None when this gateway does not know its command or cannot decode it."""
    spec = BY_COMMAND.get(pending.command)
    if spec is None or spec.command is None:
        return None
    try:
        message = codec.decode(pending.request, spec.command.request)
    except CodecError:
        return None
    return Request(spec, spec.command, message, pending.text)


def _caller_of(pending: PendingConfirmation) -> Caller:
    return Caller(
        actor=pending.actor,
        actor_name=pending.actor_name,
        channel=pending.channel,
        source="slack",
        traceparent=new_traceparent(),
    )
