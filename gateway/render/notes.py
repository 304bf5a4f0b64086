"""Docs the gateway says itself: help, usage errors, failures, refusals, confirmations."""

from __future__ import annotations

from chatops.bus import CommandError, OpsNotRunning, OpsTimeout, ServiceFailed
from gateway.commands import HelpRequest, Request, UsageError
from gateway.commands.help import overview, topic
from gateway.render.doc import Doc, Para

_WHAT_FAILED = {
    400: "ops refused the request",
    403: "ops says you may not do that",
    404: "not found",
    502: "a backend behind ops failed",
    504: "a backend behind ops timed out",
}


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
            f"`{req.spec.phrase}` failed: the Ops service is not answering.",
            (Para("Nothing is serving commands on the bus right now; try again once ops is back."),),
            ok=False,
        )
    if isinstance(exc, OpsTimeout):
        return Doc(f"`{req.spec.phrase}` failed: the Ops service did not answer in time.", ok=False)
    if isinstance(exc, ServiceFailed):
        what = _WHAT_FAILED.get(exc.code, "ops failed")
        return Doc(f"`{req.spec.phrase}` failed ({exc.code}, {what}): {exc.message}", ok=False)
    return Doc(f"`{req.spec.phrase}` failed: {exc.message}", ok=False)


def refusal_doc(req: Request, admins: tuple[str, ...]) -> Doc:
    """A non-admin asked for a change: say politely who can."""
    who = ", ".join(_mention(a) for a in admins) if admins else "nobody (CHATOPS_ADMINS is empty)"
    return Doc(
        f"Sorry, `{req.spec.phrase}` changes the system, so only admins may run it.",
        (Para(f"Admins: {who}. Ask one of them, or ask to be added to `CHATOPS_ADMINS`."),),
        ok=False,
    )


def _mention(admin: str) -> str:
    # Slack user ids render as a mention; anything else is shown as typed.
    user = admin.removeprefix("slack:")
    return f"<@{user}>" if user[:1] in "UW" and user.isalnum() and user.isupper() else user


def confirm_doc(req: Request, ttl_seconds: float) -> Doc:
    """The question asked before a change runs."""
    minutes = max(1, round(ttl_seconds / 60))
    return Doc(
        f"Run `{req.text}`?",
        (Para(f"{req.spec.summary} Confirm within {minutes} min; only you can confirm."),),
    )
