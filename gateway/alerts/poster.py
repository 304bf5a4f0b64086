"""One notification shown in chat exactly once: a new message, the message updated, a thread reply;
and a card shown again for a card event (`refresh`), or a note in its thread (`note`).

Every change happens under a claim in the group's KV record (gateway/alerts/claims.py). Posts and
thread replies carry an id in the message's metadata (a Tag), so a claim left behind by a gateway
that died is settled by looking the message up. A card whose message already shows what it would
show (the record's digest) is not updated again: a replica that rebuilt the same card from the bus
makes no chat call.

Slack refusing the message itself (blocks, size) gets the same message as plain text; refused
again, it is Undeliverable and goes to the dead letters.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from chatops import logs
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord, ChatClaim
from gateway.alerts.card import CardView, digest
from gateway.alerts.claims import ALERT_TAG, NOTE_TAG, REPLY_TAG, Claims, GroupBusy
from gateway.alerts.render import Limits, alert_doc, all_resolved, update_reply
from gateway.alerts.stale import old_snapshot
from gateway.alerts.store import (
    Mark,
    MessageStore,
    answered,
    applied,
    claimed,
    drawn,
    live_silence,
    noted,
    posted,
    replied,
    shown,
    unclaimed,
)
from gateway.render.doc import Doc
from gateway.render.slack import SlackMessage, plain, to_slack
from gateway.slack.chat import ChatError, Failure, Posted, Tag, TaggedChat

log = logs.get_logger(__name__)

__all__ = ["ALERT_TAG", "NOTE_TAG", "REPLY_TAG", "GroupBusy", "Poster", "Undeliverable", "Work"]


class Undeliverable(Exception):
    """Slack refuses this message whatever form it takes; `error` is its error name."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(reason)
        self.error = error


@dataclass(frozen=True)
class Work:
    """One notification to show: where a new message goes, and its place in the group's order."""

    note: AlertNotification
    ref: str  # the group's record key
    mark: Mark
    seq: int  # its stream sequence (for the silence buttons' re-render)
    channel: str


AfterPost = Callable[[AlertNotification, str, str], None]
# What a card shows besides its notification: (ref, record or None before the post, notification).
Viewer = Callable[[str, AlertMessageRecord | None, AlertNotification], Awaitable[CardView]]
# The notification a group's message shows (None when it cannot be read).
Shown = Callable[[AlertMessageRecord], Awaitable[AlertNotification | None]]
# A card to show again: (the record) -> its message and whether every alert of it is resolved.
Redraw = Callable[[AlertMessageRecord], Awaitable[tuple[SlackMessage, bool] | None]]


class Poster:
    """Shows notifications through `chat`, recording each step in `store` under a claim of `owner`."""

    def __init__(
        self,
        *,
        chat: TaggedChat,
        store: MessageStore,
        owner: str,
        lease: float,
        limits: Limits | None = None,
        on_plain: Callable[[str], None] = lambda error: None,
        after_post: AfterPost | None = None,
        viewer: Viewer | None = None,
        shown: Shown | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chat, self.store, self.owner, self.lease = chat, store, owner, lease
        self.limits = limits or Limits()
        self.on_plain = on_plain
        self.after_post = after_post
        self.viewer = viewer
        self.shown = shown  # reads the notification a message shows; None: never asked
        self.clock = clock
        self.claims = Claims(chat=chat, store=store, owner=owner, lease=lease, clock=clock)

    async def show(self, work: Work) -> str:
        """Do what the notification still needs; says what: posted, updated, replied, already, superseded."""
        record, revision = await self.store.read(work.ref)
        record, revision = await self.claims.settle(work.ref, record, revision, work.note)
        if record is None or not record.ts:
            return await self._post(work, record, revision)
        if work.mark < shown(record):
            return "superseded"  # a newer notification of the group is shown already
        if work.mark == shown(record):
            if work.mark <= answered(record):
                return "already"
            return await self._reply(work, record, revision)
        if record.resolved and work.note.status == "firing":
            if await self._old_snapshot(work, record):
                return "superseded"  # sent before the resolve it follows (gateway/alerts/stale.py)
            return await self._post(work, record, revision)  # fires again: a new message
        return await self._update(work, record, revision)

    async def _old_snapshot(self, work: Work, record: AlertMessageRecord) -> bool:
        if self.shown is None:
            return False
        resolve = await self.shown(record)
        if resolve is None or not old_snapshot(work.note, resolve):
            return False
        log.info("alerts.old_snapshot", seq=work.seq, group_key=work.note.group_key, shown=record.applied_seq)
        return True

    # -- the three changes ----------------------------------------------------------------------
    async def _post(self, work: Work, record: AlertMessageRecord | None, revision: int) -> str:
        revision = await self._claim(work, record, revision, "post", work.channel)
        message = await self._message(work, None)
        try:
            done = await self._send(
                lambda m, tag: self.chat.post(work.channel, m, tag=tag), message, Tag(ALERT_TAG, work.mark[1])
            )
        except ChatError as exc:
            await self.claims.unclaim_unless_unsure(work.ref, exc)
            raise
        resolved = all_resolved(work.note)
        await self.claims.finish(
            work.ref,
            lambda r: drawn(
                posted(
                    r,
                    channel=done.channel,
                    ts=done.ts,
                    note=work.note,
                    mark=work.mark,
                    seq=work.seq,
                    resolved=resolved,
                ),
                digest(message),
                resolved,
            ),
            work.mark[1],
        )
        log.info(
            "alerts.posted", seq=work.seq, group_key=work.note.group_key, channel=done.channel, ts=done.ts
        )
        if self.after_post is not None:
            self.after_post(work.note, done.channel, done.ts)
        return "posted"

    async def _update(self, work: Work, record: AlertMessageRecord, revision: int) -> str:
        revision = await self._claim(work, record, revision, "update", record.channel)
        message = await self._message(work, record)
        try:
            await self._send(lambda m, tag: self._updated(record, m), message, None)
        except ChatError as exc:
            if exc.failure is not Failure.GONE:
                await self.claims.unclaim_unless_unsure(work.ref, exc)
                raise
            # Deleted, or too old to edit: the group gets a fresh message.
            log.warning("alerts.message_gone", seq=work.seq, ts=record.ts, error=exc.detail)
            await self.claims.finish(work.ref, unclaimed, work.mark[1])
            current, revision = await self.store.read(work.ref)
            return await self._post(work, current, revision)
        labels = dict(work.note.common_labels)
        resolved = all_resolved(work.note)
        reply = ChatClaim(action="reply", channel=record.channel, thread_ts=record.ts)
        shown_now = await self.claims.finish(
            work.ref,
            lambda r: claimed(
                drawn(applied(r, work.mark, work.seq, resolved, labels), digest(message), resolved),
                self._claim_of(work, reply),
            ),
            work.mark[1],
        )
        log.info("alerts.updated", seq=work.seq, group_key=work.note.group_key, status=work.note.status)
        if shown_now is None:
            return "updated"
        return await self._reply(work, shown_now, None)

    async def _reply(self, work: Work, record: AlertMessageRecord, revision: int | None) -> str:
        if revision is not None:
            revision = await self._claim(work, record, revision, "reply", record.channel, record.ts)
        try:
            await self._send(
                lambda m, tag: self.chat.post(record.channel, m, record.ts, tag=tag),
                to_slack(update_reply(work.note)),
                Tag(REPLY_TAG, work.mark[1]),
            )
        except ChatError as exc:
            await self.claims.unclaim_unless_unsure(work.ref, exc)
            raise
        await self.claims.finish(work.ref, lambda r: unclaimed(replied(r, work.mark, work.seq)), work.mark[1])
        return "replied"

    # -- card events --------------------------------------------------------------------------------
    async def refresh(self, ref: str, redraw: Redraw) -> str:
        """Show the card again as `redraw` draws it now; says what: updated, same, gone."""
        record, revision = await self.store.read(ref)
        record, revision = await self.claims.settle(ref, record, revision, None)
        if record is None or not record.ts:
            return "gone"
        drawn_now = await redraw(record)
        if drawn_now is None:
            return "gone"
        message, resolved = drawn_now
        seen = digest(message)
        if seen == record.card_digest:
            return "same"  # this replica or another shows it like this already
        claim = self.claims.fresh(ChatClaim(action="refresh", channel=record.channel))
        await self.claims.take(ref, record, revision, claim)
        try:
            await self._send(lambda m, tag: self._updated(record, m), message, None)
        except ChatError as exc:
            if exc.failure is not Failure.GONE:
                await self.claims.unclaim_unless_unsure(ref, exc)
                raise
            log.warning("alerts.card_gone", ref=ref, ts=record.ts, error=exc.detail)
            await self.claims.finish(ref, unclaimed, "refresh")
            return "gone"
        await self.claims.finish(ref, lambda r: unclaimed(drawn(r, seen, resolved)), "refresh")
        return "updated"

    async def note(
        self, ref: str, note_id: str, doc: Doc, *, still: Callable[[AlertMessageRecord], bool]
    ) -> str:
        """Post `doc` in the card's thread once, as note `note_id`, if `still(record)` holds when the
        note is claimed; says what: posted, already, moot (no longer wanted), gone."""
        record, revision = await self.store.read(ref)
        record, revision = await self.claims.settle(ref, record, revision, None)
        if record is None or not record.ts:
            return "gone"
        if note_id in record.notes:
            return "already"
        if not still(record):
            return "moot"
        claim = self.claims.fresh(
            ChatClaim(action="note", channel=record.channel, thread_ts=record.ts, notification_id=note_id)
        )
        await self.claims.take(ref, record, revision, claim)
        try:
            await self._send(
                lambda m, tag: self.chat.post(record.channel, m, record.ts, tag=tag),
                to_slack(doc),
                Tag(NOTE_TAG, note_id),
            )
        except ChatError as exc:
            await self.claims.unclaim_unless_unsure(ref, exc)
            raise
        at = Timestamp()
        at.FromNanoseconds(int(self.clock() * 1e9))
        await self.claims.finish(ref, lambda r: unclaimed(noted(r, note_id, at)), note_id)
        return "posted"

    # -- claims -----------------------------------------------------------------------------------
    def _claim_of(self, work: Work, base: ChatClaim) -> ChatClaim:
        claim = self.claims.fresh(base)
        claim.notification_id = work.mark[1]
        claim.notification_at.FromNanoseconds(work.mark[0])
        claim.seq = work.seq
        claim.resolved = all_resolved(work.note)
        if not claim.channel:
            claim.channel = base.channel or work.channel
        return claim

    async def _claim(
        self,
        work: Work,
        record: AlertMessageRecord | None,
        revision: int,
        action: str,
        channel: str,
        thread_ts: str = "",
    ) -> int:
        claim = self._claim_of(work, ChatClaim(action=action, channel=channel, thread_ts=thread_ts))
        return await self.claims.take(work.ref, record, revision, claim)

    # -- chat calls -------------------------------------------------------------------------------
    async def _message(self, work: Work, record: AlertMessageRecord | None) -> SlackMessage:
        silence = live_silence(record) if record is not None else None
        view = await self.viewer(work.ref, record, work.note) if self.viewer is not None else None
        return to_slack(alert_doc(work.note, ref=work.ref, silence=silence, limits=self.limits, view=view))

    async def _updated(self, record: AlertMessageRecord, message: SlackMessage) -> Posted:
        await self.chat.update(record.channel, record.ts, message)
        return Posted(record.channel, record.ts)

    async def _send(
        self,
        call: Callable[[SlackMessage, Tag | None], Awaitable[Posted]],
        message: SlackMessage,
        tag: Tag | None,
    ) -> Posted:
        """The call; refused for its content, again as plain text; refused again: Undeliverable."""
        try:
            return await call(message, tag)
        except ChatError as exc:
            if exc.failure is not Failure.PAYLOAD:
                raise
            first = exc.detail
        if "metadata" in first and tag is not None:
            log.warning("alerts.metadata_refused", error=first)  # without it, a crash may repeat the post
            return await self._send(call, message, None)
        self.on_plain(first)
        log.warning("alerts.sent_as_plain_text", error=first)
        try:
            return await call(plain(message), tag)
        except ChatError as exc:
            if exc.failure is Failure.PAYLOAD:
                raise Undeliverable(
                    f"Slack refused the message ({first}) and its plain text ({exc.detail})", exc.detail
                ) from exc
            raise
