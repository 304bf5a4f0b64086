"""The deploy event log on JetStream: append one DeployEvent per step, read them all back in order."""

from __future__ import annotations

import contextlib

from google.protobuf.message import DecodeError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from chatops.subjects import DEPLOYS_PREFIX, DEPLOYS_STREAM, H_MSG_ID, deploy_subject
from chatops.v1 import deploys_pb2 as pb

BATCH = 256

# The subject token of each step: the enum name without its prefix, lower case.
STEP_TOKENS: dict[int, str] = {
    value.number: value.name.removeprefix("DEPLOY_STEP_").lower()
    for value in pb.DeployStep.DESCRIPTOR.values
    if value.number
}
ENDINGS = frozenset({pb.DEPLOY_STEP_PROMOTED, pb.DEPLOY_STEP_ROLLED_BACK, pb.DEPLOY_STEP_FAILED})


def step_token(step: int) -> str:
    """`DEPLOY_STEP_CANARY_HEALTHY` -> `canary_healthy`."""
    return STEP_TOKENS.get(step, "unspecified")


def is_ending(event: pb.DeployEvent) -> bool:
    """True for the last event of a deploy: promoted, rolled back or failed."""
    return event.step in ENDINGS


def msg_id(event: pb.DeployEvent) -> str:
    """The de-duplication id: a retried publish of the same event is stored once."""
    return f"{event.deploy_id}:{step_token(event.step)}:{event.time.ToNanoseconds()}"


class EventLog:
    """Appends to and reads CHATOPS_DEPLOYS."""

    def __init__(self, js: JetStreamContext, *, timeout: float = 5.0) -> None:
        self.js = js
        self.timeout = timeout

    async def append(self, event: pb.DeployEvent) -> int:
        """Store one event; returns its stream sequence."""
        ack = await self.js.publish(
            deploy_subject(event.service, step_token(event.step)),
            event.SerializeToString(),
            stream=DEPLOYS_STREAM,
            timeout=self.timeout,
            headers={H_MSG_ID: msg_id(event)},
        )
        return int(ack.seq)

    async def read_all(self) -> list[pb.DeployEvent]:
        """Every event in the stream, oldest first, each with its sequence filled in."""
        try:
            info = await self.js.stream_info(DEPLOYS_STREAM)
        except NotFoundError:
            return []
        if not info.state.messages:
            return []
        subject = f"{DEPLOYS_PREFIX}.>"
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            filter_subject=subject,
            inactive_threshold=5.0,
        )
        sub = await self.js.pull_subscribe(subject, stream=DEPLOYS_STREAM, config=config)
        events: list[pb.DeployEvent] = []
        try:
            pending = int((await sub.consumer_info()).num_pending or 0)
            while pending > 0:
                msgs = await sub.fetch(batch=min(pending, BATCH), timeout=self.timeout)
                for msg in msgs:
                    with contextlib.suppress(DecodeError):
                        event = pb.DeployEvent.FromString(msg.data)
                        event.sequence = int(msg.metadata.sequence.stream)
                        events.append(event)
                    pending = int(msg.metadata.num_pending)
                if not msgs:
                    break
        finally:
            # The server drops the consumer once idle; deleting it would need a right that could
            # delete the gateway's durable consumer on this stream too, which the deployer is not given.
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return events
