"""What the gateway does with a Slack message, in the project's own types (a click: `clicks.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

from chatops import actors, logs
from chatops.bus import Caller
from chatops.v1.audit_pb2 import AuditEvent
from chatops.v1.records_pb2 import PendingConfirmation
from gateway.audit import AuditSink, origin_refusal_event, refusal_event
from gateway.commands import Request, parse
from gateway.confirmations import Confirmations, confirmation_id, pending_for
from gateway.flow import Answer, Asker, Confirm, Refuse, Step, decide, run, trace_id_of
from gateway.journal import Accepted, Journal, JournalError, Ticket, message_of
from gateway.metrics import GatewayMetrics
from gateway.recovered import Recovered, decided_doc, give_up_doc, late_change_doc, recovered
from gateway.render.doc import Doc, Note, Para
from gateway.render.notes import confirm_doc
from gateway.render.slack import to_file, to_slack, to_upload
from gateway.render.text import to_text
from gateway.seen import SeenEvents
from gateway.slack.admission import Admission
from gateway.slack.blocks import confirm_message, resolved_message
from gateway.slack.chat import Chat, ChatError, person
from gateway.slack.clicks import ConfirmClicks, ThreadNotes
from gateway.slack.events import ButtonClick, ChatMessage

log = logs.get_logger(__name__)
SLOW_REACTION = "hourglass_flowing_sand"


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
        self.metrics, self.slow_after = metrics, slow_after
        self.admission = admission  # None: every workspace and channel (tests that need no policy)
        self.clock = clock  # when a confirmation expires (tests move it instead of waiting)
        # None: no journal (tests of the rest); a message is then lost should the process die.
        self.journal, self.renew_every = journal, renew_every
        self.clicks = ConfirmClicks(
            chat=chat,
            ask=ask,
            confirmations=confirmations,
            metrics=metrics,
            admission=admission,
            follow=follow,
            clock=clock,
        )

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
            await self._handle(msg, accepted.ticket)

    async def _handle(
        self, msg: ChatMessage, ticket: Ticket | None = None, again: Recovered | None = None
    ) -> None:
        """Answer it; `again`: taken over from a gateway that stopped, every answer carries its note."""
        note = again.note if again is not None else None
        why = self.admission.refusal(msg.origin, msg.channel, msg.direct) if self.admission else ""
        if why:
            await self._refuse_origin(msg, why, ticket, again)
            return
        started = time.monotonic()
        caller = await person(self.chat, msg.user, msg.channel)
        step = decide(parse(msg.text), caller.actor, self.admins)
        try:
            name, outcome = await self._act(step, caller, msg, ticket, again)
        except Exception:
            # Say so in the thread rather than leave the user waiting; the log has the traceback.
            name, outcome = "", "crashed"
            log.exception("slack.message_failed", request_id=caller.request_id, channel=msg.channel)
            sorry = Doc(f"Sorry, that failed inside the gateway (request id {caller.request_id}).", ok=False)
            with contextlib.suppress(Exception):
                await self.chat.post(msg.channel, to_slack(noted(sorry, note)), msg.thread_ts)
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

    async def _refuse_origin(
        self, msg: ChatMessage, why: str, ticket: Ticket | None, again: Recovered | None
    ) -> None:
        """One line in the thread, and an audit event (once): who tried what, from where."""
        caller = Caller(actor=actors.slack(msg.user), channel=msg.channel, source="slack")
        parsed = parse(msg.text)
        event = origin_refusal_event(parsed, msg.text, caller, f"{why} (from {', '.join(msg.origin)})")
        await self._audit(event, ticket, again)
        self.metrics.commands.labels(event.command, "refused_origin").inc()
        log.warning(
            "slack.refused_origin",
            user=msg.user,
            channel=msg.channel,
            origin=",".join(msg.origin),
            command=event.command,
            request_id=caller.request_id,
        )
        doc = noted(Doc(why, ok=False), again.note if again is not None else None)
        await self.chat.post(msg.channel, to_slack(doc), msg.thread_ts)

    async def _audit(self, event: AuditEvent, ticket: Ticket | None, again: Recovered | None) -> None:
        """Record a refusal, and note in the journal entry that it is recorded: a replica that answers
        the message again (its gateway stopped before it was done, `again`) does not record it twice."""
        if again is not None and again.audited:
            return
        try:
            await self.audit(event)
        except Exception:  # the refusal stands, and is said, when the audit log is down
            log.exception("audit.refusal_not_recorded", request_id=event.request_id)
            return
        if ticket is None or self.journal is None:
            return
        try:
            await self.journal.mark_audited(ticket)
        except Exception as exc:  # recorded; should this process stop now, it may be recorded twice
            log.warning("journal.audit_not_noted", request_id=event.request_id, error=type(exc).__name__)

    async def _act(
        self, step: Step, caller: Caller, msg: ChatMessage, ticket: Ticket | None, again: Recovered | None
    ) -> tuple[str, str]:
        """Carry out the step; returns (command, outcome) for the metrics. `again`'s note goes under it."""
        note = again.note if again is not None else None
        if isinstance(step, Answer):
            await self.chat.post(msg.channel, to_slack(noted(step.doc, note)), msg.thread_ts)
            return step.outcome, step.outcome
        if isinstance(step, Refuse):
            event = refusal_event(step.request.command, step.request.message, caller, step.doc.title)
            await self._audit(event, ticket, again)
            await self.chat.post(msg.channel, to_slack(noted(step.doc, note)), msg.thread_ts)
            return step.request.command.name, "refused"
        if isinstance(step, Confirm):
            if again is None:
                await self._ask_to_confirm(step.request, caller, msg)
            elif again.late:
                await self._too_late(step.request, msg, again.note)
                return step.request.command.name, "too_late"
            else:
                await self._ask_again(step.request, caller, msg, again.note)
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
            await self.chat.post(msg.channel, to_slack(decided_doc(req.text, note)), msg.thread_ts)
        elif found is not None and found[0].message_ts:
            doc = Doc(f"`{req.text}` waits for your Confirm or Cancel above.", footer=(note,))
            await self.chat.post(msg.channel, to_slack(doc), msg.thread_ts)
        else:  # never asked, or saved and then not posted (or posted, not attached: asked again)
            await self._ask_to_confirm(req, caller, msg, note, found[0] if found is not None else None)

    async def _too_late(self, req: Request, msg: ChatMessage, note: Note) -> None:
        """A change taken over long after it was asked (no gateway ran): not run, and not asked again.
        A question the stopped gateway had posted is taken back, so a click on it runs nothing."""
        pending_id = confirmation_id(msg.dedupe_key)
        found = await self.confirmations.get(pending_id)
        if found is None:
            decided = await self.confirmations.known(pending_id)
        else:
            decided = not await self.confirmations.take(pending_id, found[1])  # a click just now
        doc = decided_doc(req.text, note) if decided else late_change_doc(req.text, note)
        await self.chat.post(msg.channel, to_slack(doc), msg.thread_ts)
        if found is not None and not decided and found[0].message_ts:
            gone = resolved_message(f"Not run: `{req.text}` was asked too long ago (see below).")
            await self.chat.update(msg.channel, found[0].message_ts, gone)

    async def recover(self, ticket: Ticket) -> str:
        """Answer a message taken over from a gateway that stopped, with a note saying so (and how late,
        when no gateway ran for longer than a confirmation stays valid)."""
        msg = message_of(ticket.entry)
        assert self.journal is not None
        again = recovered(ticket.entry, self.clock(), self.confirm_ttl)
        async with self.journal.held(ticket, self.renew_every):
            await self._handle(msg, ticket, again)
        return "answered late" if again.late else "answered"

    async def give_up(self, ticket: Ticket) -> None:
        """Say in the thread that the message will not be answered (gateways stopped on it)."""
        msg = message_of(ticket.entry)
        await self.chat.post(msg.channel, to_slack(give_up_doc(msg.text)), msg.thread_ts)

    async def on_click(self, click: ButtonClick) -> None:
        """A Confirm or Cancel click on a question this gateway (or another replica) asked."""
        await self.clicks.on_click(click)


def noted(doc: Doc, note: Note | None) -> Doc:
    """The doc with `note` under it, if any."""
    return doc if note is None else replace(doc, footer=(*doc.footer, note))
