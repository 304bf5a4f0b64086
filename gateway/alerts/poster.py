"""One notification shown in chat exactly once: a new message, the message updated, a thread reply.

Every change to a group's chat message happens under a claim in its KV record, written before the
chat call and cleared with the record of what the call did. The post carries the notification id
in the message's metadata (a Tag). A claim found later means a gateway stopped between the two:
younger than the lease, it may still be at work (GroupBusy: come back later); older, its post is
looked for in the channel's history (bounded: since the claim began) and recorded if it is there,
so a crash between Slack's accept and the KV write posts nothing twice.

Slack refusing the message itself (blocks, size) gets the same message as plain text; refused
again, it is Undeliverable and goes to the dead letters.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chatops import logs
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord, ChatClaim
from gateway.alerts.render import Limits, alert_doc, all_resolved, update_reply
from gateway.alerts.store import (
    Mark,
    MessageStore,
    RecordChanged,
    answered,
    applied,
    claimed,
    live_silence,
    posted,
    replied,
    shown,
    unclaimed,
)
from gateway.render.slack import SlackMessage, plain, to_slack
from gateway.slack.chat import ChatError, Failure, Posted, Tag, TaggedChat

log = logs.get_logger(__name__)

ALERT_TAG = "chatops_alert"
REPLY_TAG = "chatops_alert_reply"
SKEW = 60.0  # seconds of clock difference between gateways and Slack allowed for when looking back


class GroupBusy(Exception):
    """Another gateway is at work on this group (or wrote its record just now): try again in `wait`."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"group busy for {wait:.1f}s")
        self.wait = max(0.05, wait)


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chat, self.store, self.owner, self.lease = chat, store, owner, lease
        self.limits = limits or Limits()
        self.on_plain = on_plain
        self.after_post = after_post
        self.clock = clock

    async def show(self, work: Work) -> str:
        """Do what the notification still needs; says what: posted, updated, replied, already, superseded."""
        record, revision = await self.store.read(work.ref)
        record, revision = await self._settle(work, record, revision)
        if record is None or not record.ts:
            return await self._post(work, record, revision)
        if work.mark < shown(record):
            return "superseded"  # a newer notification of the group is shown already
        if work.mark == shown(record):
            if work.mark <= answered(record):
                return "already"
            return await self._reply(work, record, revision)
        if record.resolved and work.note.status == "firing":
            return await self._post(work, record, revision)  # fires again: a new message
        return await self._update(work, record, revision)

    # -- the three changes ----------------------------------------------------------------------
    async def _post(self, work: Work, record: AlertMessageRecord | None, revision: int) -> str:
        revision = await self._claim(work, record, revision, "post", work.channel)
        message = self._message(work, None)
        try:
            done = await self._send(
                lambda m, tag: self.chat.post(work.channel, m, tag=tag), message, Tag(ALERT_TAG, work.mark[1])
            )
        except ChatError as exc:
            await self._unclaim_unless_unsure(work, exc)
            raise
        resolved = all_resolved(work.note)
        await self._finish(
            work,
            lambda r: posted(
                r,
                channel=done.channel,
                ts=done.ts,
                note=work.note,
                mark=work.mark,
                seq=work.seq,
                resolved=resolved,
            ),
        )
        log.info(
            "alerts.posted", seq=work.seq, group_key=work.note.group_key, channel=done.channel, ts=done.ts
        )
        if self.after_post is not None:
            self.after_post(work.note, done.channel, done.ts)
        return "posted"

    async def _update(self, work: Work, record: AlertMessageRecord, revision: int) -> str:
        revision = await self._claim(work, record, revision, "update", record.channel)
        message = self._message(work, record)
        try:
            await self._send(lambda m, tag: self._updated(record, m), message, None)
        except ChatError as exc:
            if exc.failure is not Failure.GONE:
                await self._unclaim_unless_unsure(work, exc)
                raise
            # Deleted, or too old to edit: the group gets a fresh message.
            log.warning("alerts.message_gone", seq=work.seq, ts=record.ts, error=exc.detail)
            await self._finish(work, unclaimed)
            current, revision = await self.store.read(work.ref)
            return await self._post(work, current, revision)
        labels = dict(work.note.common_labels)
        resolved = all_resolved(work.note)
        reply = ChatClaim(action="reply", channel=record.channel, thread_ts=record.ts)
        shown_now = await self._finish(
            work,
            lambda r: claimed(applied(r, work.mark, work.seq, resolved, labels), self._claim_of(work, reply)),
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
            await self._unclaim_unless_unsure(work, exc)
            raise
        await self._finish(work, lambda r: unclaimed(replied(r, work.mark, work.seq)))
        return "replied"

    # -- claims -----------------------------------------------------------------------------------
    def _claim_of(self, work: Work, base: ChatClaim) -> ChatClaim:
        claim = ChatClaim()
        claim.CopyFrom(base)
        claim.owner = self.owner
        claim.since.FromNanoseconds(int(self.clock() * 1e9))
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
        try:
            return await self.store.write(work.ref, claimed(record, claim), revision)
        except RecordChanged:
            raise GroupBusy(0.1) from None  # someone wrote in between: read again

    async def _finish(
        self, work: Work, change: Callable[[AlertMessageRecord], AlertMessageRecord]
    ) -> AlertMessageRecord | None:
        """Record what our chat call did, if the claim is still ours (None when another took over)."""
        ref = work.ref
        for _ in range(10):
            current, revision = await self.store.read(ref)
            if current is None or not self._ours(current):
                log.warning("alerts.claim_taken_over", ref=ref, notification=work.mark[1])
                return None
            updated = change(current)
            try:
                await self.store.write(ref, updated, revision)
            except RecordChanged:
                continue
            return updated
        raise RuntimeError(f"record {ref} kept changing under us")

    def _ours(self, record: AlertMessageRecord) -> bool:
        return record.HasField("claim") and record.claim.owner == self.owner

    async def _unclaim_unless_unsure(self, work: Work, exc: ChatError) -> None:
        """After a definite refusal the post did not happen: drop the claim. After a timeout or a
        5xx it may have: keep it, so the next attempt looks before posting again."""
        if exc.failure is Failure.UNAVAILABLE:
            return
        try:
            await self._finish(work, unclaimed)
        except Exception as drop:  # the next attempt finds our claim and looks: no harm
            log.warning("alerts.unclaim_failed", ref=work.ref, error=f"{type(drop).__name__}: {drop}")

    async def _settle(
        self, work: Work, record: AlertMessageRecord | None, revision: int
    ) -> tuple[AlertMessageRecord | None, int]:
        """A claim found on the record: wait for a live one, finish or drop one left behind."""
        if record is None or not record.HasField("claim"):
            return record, revision
        claim = record.claim
        age = self.clock() - claim.since.ToNanoseconds() / 1e9
        if claim.owner != self.owner and age < self.lease:
            raise GroupBusy(self.lease - age)
        mark = (claim.notification_at.ToNanoseconds(), claim.notification_id)
        settled = unclaimed(record)
        if claim.action in ("post", "reply"):
            kind = ALERT_TAG if claim.action == "post" else REPLY_TAG
            since = claim.since.ToNanoseconds() / 1e9 - SKEW
            ts = await self.chat.find(
                claim.channel, Tag(kind, claim.notification_id), thread_ts=claim.thread_ts, oldest=since
            )
            log.info(
                "alerts.claim_settled",
                action=claim.action,
                found=bool(ts),
                notification=claim.notification_id,
            )
            if ts and claim.action == "post":
                settled = posted(
                    record,
                    channel=claim.channel,
                    ts=ts,
                    note=work.note,
                    mark=mark,
                    seq=claim.seq,
                    resolved=claim.resolved,
                )
            elif ts:
                settled = replied(settled, mark, claim.seq)
        try:
            revision = await self.store.write(work.ref, settled, revision)
        except RecordChanged:
            raise GroupBusy(0.1) from None
        usable = settled if (settled.channel and settled.ts) else None
        return usable, revision

    # -- chat calls -------------------------------------------------------------------------------
    def _message(self, work: Work, record: AlertMessageRecord | None) -> SlackMessage:
        silence = live_silence(record) if record is not None else None
        return to_slack(alert_doc(work.note, ref=work.ref, silence=silence, limits=self.limits))

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
