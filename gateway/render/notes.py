"""Docs the gateway says itself: help, usage errors, failures, refusals, confirmations."""

from __future__ import annotations

from chatops import actors
from chatops.admins import AdminEntryError, normalise
from chatops.bus import CommandError, OpsNotRunning, OpsTimeout, ServiceFailed
from chatops.errors import meaning
from gateway.commands import HelpRequest, Request, UsageError
from gateway.commands.help import overview, topic
from gateway.render.doc import Doc, Mention, Para, Span


def help_doc(req: HelpRequest) -> Doc:
    """`help`: every command; `help <command>`: that command's usage, options and examples."""
    if req.topic is None:
        lines = "\n".join(f"• *{phrase}*: {summary}" for phrase, summary in overview())
        return Doc("Here is what I can do:", (Para(lines), Para("Say `help <command>` for its options.")))
    return Doc(f"Help for `{req.topic.phrase}`:", (Para("\n".join(topic(req.topic))),))


def usage_doc(err: UsageError) -> Doc:
    """A usage error: what was wrong, the right form, where to look."""
    return Doc(err.problem, tuple(Para(line) for line in err.text.splitlines()[1:]), ok=False)


def failure_doc(req: Request, exc: CommandError) -> Doc:
    """A command that produced no reply, said in a line; never a traceback."""
    if isinstance(exc, OpsNotRunning):
        return Doc(
            f"`{req.spec.phrase}` failed: {req.command.server.title} is not answering.",
            (Para(f"Nothing serves `{req.command.name}` on the bus right now; try again once it is back."),),
            ok=False,
        )
    if isinstance(exc, OpsTimeout):
        return Doc(
            f"`{req.spec.phrase}` failed: {req.command.server.title} did not answer in time.", ok=False
        )
    if isinstance(exc, ServiceFailed):
        return Doc(f"`{req.spec.phrase}` failed ({exc.code}, {meaning(exc.code)}): {exc.message}", ok=False)
    return Doc(f"`{req.spec.phrase}` failed: {exc.message}", ok=False)


def refusal_doc(req: Request, admins: tuple[str, ...]) -> Doc:
    """A non-admin asked for a change: say politely who can."""
    return Doc(
        f"Sorry, `{req.spec.phrase}` changes the system, so only admins may run it.",
        (Para(("Admins: ", *who_may(admins), ". Ask one of them, or ask to be added to `CHATOPS_ADMINS`.")),),
        ok=False,
    )


def who_may(admins: tuple[str, ...]) -> tuple[Span, ...]:
    """The admins as people read them: Slack users as mentions, other actors as written."""
    if not admins:
        return ("nobody (CHATOPS_ADMINS is empty)",)
    out: list[Span] = []
    for entry in admins:
        out.extend((", ", _who(entry)) if out else (_who(entry),))
    return tuple(out)


def _who(entry: str) -> Span:
    try:
        actor = normalise(entry)
    except AdminEntryError:
        return entry
    # A Slack user id renders as a mention; anything else is shown as the actor it is.
    user = actors.slack_user(actor)
    return Mention(user) if user else actor


def confirm_doc(req: Request, ttl_seconds: float) -> Doc:
    """The question asked before a change runs."""
    minutes = max(1, round(ttl_seconds / 60))
    return Doc(
        f"Run `{req.text}`?",
        (Para(f"{req.spec.summary} Confirm within {minutes} min; only you can confirm."),),
    )
