"""What the gateway does with a Slack message or button click, in the project's own types."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from chatops import actors, codec, logs
from chatops.bus import Caller
from chatops.codec import CodecError
from chatops.v1.records_pb2 import PendingConfirmation
from gateway.audit import AuditSink, origin_refusal_event, refusal_event
from gateway.commands import Request, parse
from gateway.commands.table import BY_COMMAND
from gateway.confirmations import Confirmations, confirmation_id, expired, pending_for
from gateway.flow import Answer, Asker, Confirm, Refuse, Step, decide, new_traceparent, run, trace_id_of
from gateway.journal import Accepted, Journal, JournalError, Ticket, message_of
from gateway.metrics import GatewayMetrics
from gateway.render.doc import Doc, Mention, Note, Para
from gateway.render.notes import confirm_doc
from gateway.render.slack import mrkdwn, to_file, to_slack, to_upload
from gateway.render.text import to_text
from gateway.seen import SeenEvents
from gateway.slack.admission import Admission
from gateway.slack.blocks import CANCEL, confirm_message, resolved_message
from gateway.slack.chat import Chat, ChatError, person
from gateway.slack.events import ButtonClick, ChatMessage

log = logs.get_logger(__name__)
# (request id, channel, ts, who confirmed, the command as typed in backticks): the message a change's
# progress events will update (deploys), under "Confirmed by <who>: <command>".
ThreadNotes = Callable[[str, str, str, str, str], Awaitable[None]]
SLOW_REACTION = "hourglass_flowing_sand"
# Under an answer to a message taken over from a gateway that stopped: it may have answered already.
RECOVERED = (
    "Answered after a gateway restart: the gateway that took this message stopped before it was done. "
    "If an answer is above already, this one repeats it."
)


class SlackGateway:
    """Answers messages once, refuses or confirms changes, and finishes confirmations on click."""

    def __init__(
        self,
        *,
        chat: Chat,
        ask: Asker,
        seen: SeenEvents,
        confirmations: Confirmations,
        audit: AuditSink,
        admins: tuple[str, ...],
        confirm_ttl: float,
        metrics: GatewayMetrics,
        slow_after: float = 1.5,
        admission: Admission | None = None,
        follow: ThreadNotes | None = None,
        clock: Callable[[], float] = time.time,
        journal: Journal | None = None,
        renew_every: float = 5.0,
    ) -> None:
        self.chat, self.ask, self.seen, self.confirmations = chat, ask, seen, confirmations
        self.audit, self.admins, self.confirm_ttl = audit, admins, confirm_ttl
        self.metrics, self.slow_after, self.follow = metrics, slow_after, follow
        self.admission = admission  # None: every workspace and channel (tests that need no policy)
        self.clock = clock  # when a confirmation expires (tests move it instead of waiting)
        # None: no journal (tests of the rest); a message is then lost should the process die.
        self.journal, self.renew_every = journal, renew_every

    async def on_message(self, msg: ChatMessage) -> None:
        """Handle one message addressed to the bot; a duplicate delivery is dropped."""
        await self.handle(msg, await self.accept(msg))

    async def accept(self, msg: ChatMessage) -> Accepted:
        """Take the message from Slack: journal it, then claim it (bolt runs this before it acks).

        The journal's create-only entry answers a Slack retry or a copy on another replica once, and
        lets another replica answer it should this process die; the claim in KV_chatops_seen_events
        keeps a day's memory of it (and is what a gateway of an older version looks at).
        """
        ticket = None
        if self.journal is not None:
            try:
                ticket = await self.journal.open(msg)
                if ticket is None:
                    return Accepted(first=False)
            except JournalError as exc:  # answered still, only not recoverable should this process die
                self.metrics.journal_errors.inc()
                log.warning("journal.unavailable", key=msg.dedupe_key, error=str(exc))
                ticket = self.journal.draft(msg)  # marked done once answered, should it be stored
        if not await self.seen.first(msg.dedupe_key):
            if ticket is not None and self.journal is not None:
                with contextlib.suppress(Exception):  # another gateway answers it: done here
                    await self.journal.close(ticket)
            return Accepted(first=False)
        return Accepted(first=True, ticket=ticket)

    async def handle(self, msg: ChatMessage, accepted: Accepted) -> None:
        """Answer a message `accept` took; a duplicate is dropped. Its journal entry is renewed while
        this runs and marked done at the end."""
        if not accepted.first:
            self.metrics.duplicates.inc()
            log.info("slack.duplicate", key=msg.dedupe_key)
            return
        if self.journal is None:
            await self._handle(msg)
            return
        async with self.journal.held(accepted.ticket, self.renew_every):
            await self._handle(msg)

    async def _handle(self, msg: ChatMessage, note: Note | None = None) -> None:
        why = self.admission.refusal(msg.origin, msg.channel, msg.direct) if self.admission else ""
        if why:
            await self._refuse_origin(msg, why)
            return
        started = time.monotonic()
        caller = await person(self.chat, msg.user, msg.channel)
        step = decide(parse(msg.text), caller.actor, self.admins)
        try:
            name, outcome = await self._act(step, caller, msg, note)
        except Exception:
            # Say so in the thread rather than leave the user waiting; the log has the traceback.
            name, outcome = "", "crashed"
            log.exception("slack.message_failed", request_id=caller.request_id, channel=msg.channel)
            sorry = Doc(f"Sorry, that failed inside the gateway (request id {caller.request_id}).", ok=False)
            with contextlib.suppress(Exception):
                await self.chat.post(msg.channel, to_slack(sorry), msg.thread_ts)
        self.metrics.commands.labels(name, outcome).inc()
        self.metrics.latency.labels(name).observe(time.monotonic() - started)
        log.info(
            "slack.message",
            command=name,
            outcome=outcome,
            user=msg.user,
            channel=msg.channel,
            request_id=caller.request_id,
            trace_id=trace_id_of(caller.traceparent),
        )

    async def _refuse_origin(self, msg: ChatMessage, why: str) -> None:
        """One line in the thread, and an audit event: who tried what, from where."""
        caller = Caller(actor=actors.slack(msg.user), channel=msg.channel, source="slack")
        parsed = parse(msg.text)
        event = origin_refusal_event(parsed, msg.text, caller, f"{why} (from {', '.join(msg.origin)})")
        try:
            await self.audit(event)
        except Exception:  # the refusal stands, and is said, when the audit log is down
            log.exception("audit.refusal_not_recorded", request_id=caller.request_id)
        self.metrics.commands.labels(event.command, "refused_origin").inc()
        log.warning(
            "slack.refused_origin",
            user=msg.user,
            channel=msg.channel,
            origin=",".join(msg.origin),
            command=event.command,
            request_id=caller.request_id,
        )
        await self.chat.post(msg.channel, to_slack(Doc(why, ok=False)), msg.thread_ts)

    async def _act(self, step: Step, caller: Caller, msg: ChatMessage, note: Note | None) -> tuple[str, str]:
        """Carry out the step; returns (command, outcome) for the metrics. `note` goes under the reply."""
        if isinstance(step, Answer):
            await self.chat.post(msg.channel, to_slack(noted(step.doc, note)), msg.thread_ts)
            return step.outcome, step.outcome
        if isinstance(step, Refuse):
            try:
                await self.audit(
                    refusal_event(step.request.command, step.request.message, caller, step.doc.title)
                )
            except Exception:  # the refusal still stands, and is said, when the audit log is down
                log.exception("audit.refusal_not_recorded", request_id=caller.request_id)
            await self.chat.post(msg.channel, to_slack(noted(step.doc, note)), msg.thread_ts)
            return step.request.command.name, "refused"
        if isinstance(step, Confirm):
            if note is None:
                await self._ask_to_confirm(step.request, caller, msg)
            else:
                await self._ask_again(step.request, caller, msg, note)
            return step.request.command.name, "confirm"
        answer = await self._run_noting_slowness(step.request, caller, msg)
        await self._say(msg, noted(answer.doc, note), caller)
        return step.request.command.name, answer.outcome

    async def _say(self, msg: ChatMessage, doc: Doc, caller: Caller) -> None:
        """Post the doc in the thread; a doc with a picture is shared as a file with its message."""
        upload = to_upload(doc)
        if upload is None:
            await self.chat.post(msg.channel, to_slack(doc), msg.thread_ts)
            if doc.attachment is not None:
                await self._share(msg, doc, caller)
            return
        try:
            await self.chat.upload(msg.channel, upload, msg.thread_ts)
        except ChatError as exc:
            log.warning(
                "slack.upload_failed", error=exc.detail, channel=msg.channel, request_id=caller.request_id
            )
            sorry = Doc(
                f"I have the picture, but Slack did not take it ({exc.detail}).",
                (Para(to_text(replace(doc, image=None))),),
                ok=False,
            )
            await self.chat.post(msg.channel, to_slack(sorry), msg.thread_ts)

    async def _share(self, msg: ChatMessage, doc: Doc, caller: Caller) -> None:
        """The reply's text file (a timeline's Markdown) shared after it in the thread."""
        assert doc.attachment is not None
        try:
            await self.chat.upload(msg.channel, to_file(doc.attachment), msg.thread_ts)
        except ChatError as exc:
            log.warning(
                "slack.upload_failed", error=exc.detail, channel=msg.channel, request_id=caller.request_id
            )
            sorry = Doc(f"Slack did not take the file {doc.attachment.filename} ({exc.detail}).", ok=False)
            await self.chat.post(msg.channel, to_slack(sorry), msg.thread_ts)

    async def _run_noting_slowness(self, req: Request, caller: Caller, msg: ChatMessage) -> Answer:
        task = asyncio.ensure_future(run(req, caller, self.ask))
        done, _ = await asyncio.wait({task}, timeout=self.slow_after)
        if not done:
            await self.chat.react(msg.channel, msg.ts, SLOW_REACTION)
        return await task

    async def _ask_to_confirm(
        self,
        req: Request,
        caller: Caller,
        msg: ChatMessage,
        note: Note | None = None,
        saved: PendingConfirmation | None = None,
    ) -> None:
        pending = saved or pending_for(
            req,
            actor=caller.actor,
            actor_name=caller.actor_name,
            channel=msg.channel,
            thread_ts=msg.thread_ts,
            ttl=self.confirm_ttl,
            now=self.clock(),
            pending_id=confirmation_id(msg.dedupe_key),
        )
        if saved is None:
            await self.confirmations.save(pending)
        doc = noted(confirm_doc(req, self.confirm_ttl), note)
        posted = await self.chat.post(msg.channel, confirm_message(doc, pending.id), msg.thread_ts)
        await self.confirmations.attach_message(pending, posted.ts)

    async def _ask_again(self, req: Request, caller: Caller, msg: ChatMessage, note: Note) -> None:
        """A change taken over from a gateway that stopped: its question, once. Its id is the message's,
        so a question the first gateway posted already is the one that stands (a click on it runs the
        change, once) and is not asked a second time; nothing runs without a click."""
        pending_id = confirmation_id(msg.dedupe_key)
        found = await self.confirmations.get(pending_id)
        if found is None and await self.confirmations.known(pending_id):
            doc = Doc(f"`{req.text}` was confirmed or cancelled already (see above).", footer=(note,))
            await self.chat.post(msg.channel, to_slack(doc), msg.thread_ts)
        elif found is not None and found[0].message_ts:
            doc = Doc(f"`{req.text}` waits for your Confirm or Cancel above.", footer=(note,))
            await self.chat.post(msg.channel, to_slack(doc), msg.thread_ts)
        else:  # never asked, or saved and then not posted (or posted, not attached: asked again)
            await self._ask_to_confirm(req, caller, msg, note, found[0] if found is not None else None)

    async def recover(self, ticket: Ticket) -> str:
        """Answer a message taken over from a gateway that stopped, with a note saying so."""
        msg = message_of(ticket.entry)
        assert self.journal is not None
        async with self.journal.held(ticket, self.renew_every):
            await self._handle(msg, Note(RECOVERED))
        return "answered"

    async def give_up(self, ticket: Ticket) -> None:
        """Say in the thread that the message will not be answered (gateways stopped on it)."""
        msg = message_of(ticket.entry)
        doc = Doc(
            "Sorry, I could not answer this: the gateway stopped every time it tried.",
            (Para(f"`{msg.text}` was not run; send it again if it is still needed."),),
            ok=False,
        )
        await self.chat.post(msg.channel, to_slack(doc), msg.thread_ts)

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


def noted(doc: Doc, note: Note | None) -> Doc:
    """The doc with `note` under it, if any."""
    return doc if note is None else replace(doc, footer=(*doc.footer, note))
