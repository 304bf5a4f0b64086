"""Dead letters of alert delivery: a notification given up on, with the reason, on CHATOPS_DEADLETTER."""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from chatops import codec
from chatops.subjects import DEADLETTER_ALERTS, DEADLETTER_STREAM, H_MSG_ID
from chatops.v1.deadletters_pb2 import DeadLetter
from chatops.v1.events_pb2 import AlertNotification


@dataclass(frozen=True)
class Letter:
    """What delivery knows of a notification it gives up on."""

    msg: Msg
    seq: int
    stored: float  # unix time it was stored in CHATOPS_ALERTS
    note: AlertNotification | None  # None: it could not be read
    channel: str
    error: str
    reason: str
    attempts: int


def dead_letter(letter: Letter) -> DeadLetter:
    """The event appended to CHATOPS_DEADLETTER."""
    meta = letter.msg.metadata
    out = DeadLetter(
        stream=meta.stream or "",
        stream_seq=letter.seq,
        subject=letter.msg.subject,
        reason=letter.reason,
        error=letter.error,
        attempts=letter.attempts,
        channel=letter.channel,
        msg_id=(letter.msg.headers or {}).get(H_MSG_ID, ""),
    )
    out.stored_at.FromNanoseconds(int(letter.stored * 1e9))
    out.dead_at.GetCurrentTime()
    if letter.note is not None:
        out.notification.CopyFrom(letter.note)
    else:
        out.data = letter.msg.data
    return out


async def publish_dead_letter(js: JetStreamContext, letter: Letter, timeout: float = 5.0) -> int:
    """Append it; the same stored notification given up on twice (a crash before its ack) is kept once."""
    event = dead_letter(letter)
    key = f"alerts:{event.stream}:{event.stream_seq}:{event.msg_id or event.stored_at.ToNanoseconds()}"
    ack = await js.publish(
        DEADLETTER_ALERTS,
        codec.encode(event),
        stream=DEADLETTER_STREAM,
        headers={H_MSG_ID: key},
        timeout=timeout,
    )
    return int(ack.seq)
