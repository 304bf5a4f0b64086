"""Claims on a card's KV record: every change to a card's chat message (a post, an update, a thread
reply or note) is claimed in the record first and cleared with the record of what the chat call did.

A claim found later means a gateway stopped between the two: younger than the lease, it may still be
at work (GroupBusy: come back later); older, its post is looked for in the channel or thread by the
id in the message's metadata (a Tag), bounded to the time since the claim began, and recorded if it
is there, so a crash between Slack's accept and the KV write posts nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chatops import logs
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord, ChatClaim
from gateway.alerts.store import MessageStore, RecordChanged, claimed, noted, posted, replied, unclaimed
from gateway.slack.chat import ChatError, Failure, Tag, TaggedChat

log = logs.get_logger(__name__)

ALERT_TAG = "chatops_alert"
REPLY_TAG = "chatops_alert_reply"
NOTE_TAG = "chatops_alert_note"
SKEW = 60.0  # seconds of clock difference between gateways and Slack allowed for when looking back
_TAGS = {"post": ALERT_TAG, "reply": REPLY_TAG, "note": NOTE_TAG}


class GroupBusy(Exception):
    """Another gateway is at work on this group (or wrote its record just now): try again in `wait`."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"group busy for {wait:.1f}s")
        self.wait = max(0.05, wait)


class Claims:
    """Claims of `owner` on the records of `store`, respected by others for `lease` seconds."""

    def __init__(
        self,
        *,
        chat: TaggedChat,
        store: MessageStore,
        owner: str,
        lease: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chat, self.store, self.owner, self.lease, self.clock = chat, store, owner, lease, clock

    def fresh(self, base: ChatClaim) -> ChatClaim:
        """`base` as this gateway's claim, begun now."""
        claim = ChatClaim()
        claim.CopyFrom(base)
        claim.owner = self.owner
        claim.since.FromNanoseconds(int(self.clock() * 1e9))
        return claim

    async def take(self, ref: str, record: AlertMessageRecord | None, revision: int, claim: ChatClaim) -> int:
        """Write the claim if the record is still at `revision`; GroupBusy if someone wrote in between."""
        try:
            return await self.store.write(ref, claimed(record, claim), revision)
        except RecordChanged:
            raise GroupBusy(0.1) from None  # read again

    async def finish(
        self, ref: str, change: Callable[[AlertMessageRecord], AlertMessageRecord], what: str = ""
    ) -> AlertMessageRecord | None:
        """Record what our chat call did, if the claim is still ours (None when another took over)."""
        for _ in range(10):
            current, revision = await self.store.read(ref)
            if current is None or not self.ours(current):
                log.warning("alerts.claim_taken_over", ref=ref, what=what)
                return None
            updated = change(current)
            try:
                await self.store.write(ref, updated, revision)
            except RecordChanged:
                continue
            return updated
        raise RuntimeError(f"record {ref} kept changing under us")

    def ours(self, record: AlertMessageRecord) -> bool:
        return record.HasField("claim") and record.claim.owner == self.owner

    async def unclaim_unless_unsure(self, ref: str, exc: ChatError) -> None:
        """After a definite refusal the post did not happen: drop the claim. After a timeout or a
        5xx it may have: keep it, so the next attempt looks before posting again."""
        if exc.failure is Failure.UNAVAILABLE:
            return
        try:
            await self.finish(ref, unclaimed)
        except Exception as drop:  # the next attempt finds our claim and looks: no harm
            log.warning("alerts.unclaim_failed", ref=ref, error=f"{type(drop).__name__}: {drop}")

    async def settle(
        self, ref: str, record: AlertMessageRecord | None, revision: int, note: AlertNotification | None
    ) -> tuple[AlertMessageRecord | None, int]:
        """A claim found on the record: wait for a live one, finish or drop one left behind. `note` is
        the notification at hand, recorded as posted when a left-behind post is found."""
        if record is None or not record.HasField("claim"):
            return record, revision
        claim = record.claim
        age = self.clock() - claim.since.ToNanoseconds() / 1e9
        if claim.owner != self.owner and age < self.lease:
            raise GroupBusy(self.lease - age)
        if claim.action == "post" and note is None:
            raise GroupBusy(1.0)  # only delivery, with the notification at hand, can record that post
        mark = (claim.notification_at.ToNanoseconds(), claim.notification_id)
        settled = unclaimed(record)
        kind = _TAGS.get(claim.action)
        if kind is not None:
            since = claim.since.ToNanoseconds() / 1e9 - SKEW
            ts = await self.chat.find(
                claim.channel, Tag(kind, claim.notification_id), thread_ts=claim.thread_ts, oldest=since
            )
            log.info("alerts.claim_settled", action=claim.action, found=bool(ts), id=claim.notification_id)
            if ts and claim.action == "post" and note is not None:
                settled = posted(
                    record,
                    channel=claim.channel,
                    ts=ts,
                    note=note,
                    mark=mark,
                    seq=claim.seq,
                    resolved=claim.resolved,
                )
            elif ts and claim.action == "reply":
                settled = replied(settled, mark, claim.seq)
            elif ts and claim.action == "note":
                settled = noted(settled, claim.notification_id, claim.since)
        try:
            revision = await self.store.write(ref, settled, revision)
        except RecordChanged:
            raise GroupBusy(0.1) from None
        usable = settled if (settled.channel and settled.ts) else None
        return usable, revision
