"""The console front end: `chatops ask "deployed version"` and `chatops history`, over the bus."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client

from chatops import actors, logs, redact
from chatops.access.files import LOCAL_ROOT, AccessFiles
from chatops.bus import BusUnreachable, Caller, CommandError, connect
from chatops.settings import load_settings
from chatops.stackstate import BadRecord, StackBus, find_data_dir, recorded_bus, state_path
from gateway.audit import record, refusal_event
from gateway.commands import parse
from gateway.flow import Answer, Confirm, Refuse, Run, bus_asker, decide, new_traceparent, run
from gateway.render.doc import Image
from gateway.render.text import to_text
from gateway.settings import ConsoleSettings

log = logs.get_logger(__name__)
OK, FAILED, USAGE, REFUSED = 0, 1, 2, 3
# What `chatops up` (so `make demo`) records and writes, seen from the checkout it runs in: where its
# bus is (and whether over TLS), the console's seed and, with --tls, the console's certificate.
LOCAL_STATE = state_path(LOCAL_ROOT)
LOCAL_SEED = AccessFiles(LOCAL_ROOT, use_tls=False).seed("console")


@dataclass(frozen=True)
class LocalStack:
    """The data dir of a `chatops up` found from here (`root`, e.g. `../.chatops`) and the bus its
    state.json records: None when there is no record, or one that cannot be used (`problem` says why)."""

    root: Path
    bus: StackBus | None
    problem: str = ""


def local_stack(here: Path, home: Path | None) -> LocalStack | None:
    """The local stack in `here` or the nearest folder above it that has one (not above `home`)."""
    root = find_data_dir(here, home)
    if root is None:
        return None
    try:
        return LocalStack(root, recorded_bus(root))
    except BadRecord as exc:
        return LocalStack(root, None, f"{state_path(root)} {exc}")


def stack_here() -> LocalStack | None:
    """`local_stack` from the folder the console runs in (none when that folder is gone), below the
    user's home (anywhere when neither HOME nor the system says whose it is)."""
    try:
        here = Path.cwd()
    except OSError:
        return None
    try:
        home: Path | None = Path.home()
    except RuntimeError:
        home = None
    return local_stack(here, home)


def console_settings(stack: LocalStack | None) -> ConsoleSettings:
    """The settings; what they leave out, from the local stack found from here, if any. A record that
    cannot be used is said (it is then as if there were none)."""
    settings = load_settings(ConsoleSettings)
    if stack is None:
        return settings
    if stack.problem:
        print(
            f"chatops: {stack.problem}, so it is not used; `chatops up` writes it anew when it starts",
            file=sys.stderr,
        )
    return beside_stack(settings, stack.bus, stack.root)


def beside_stack(settings: ConsoleSettings, stack: StackBus | None, root: Path) -> ConsoleSettings:
    """`settings` completed from the local stack in `root`, whose record is `stack`; what is set wins.

    No NATS_URL: the bus the stack recorded. No NATS_CREDS or NATS_NKEY_SEED_FILE: the console's seed
    when it is there. No NATS_TLS_*, on the stack's bus when it runs TLS: its CA and the console's
    certificate. No CHATOPS_ADMINS: the admins the stack gave its ops, so a refusal names them.
    """
    update: dict[str, object] = {}
    url = settings.NATS_URL
    if stack is not None and "NATS_URL" not in settings.model_fields_set:
        url = update["NATS_URL"] = stack.nats_url
    files = AccessFiles(root, use_tls=stack is not None and stack.tls)
    seed = files.seed("console")
    if settings.NATS_CREDS is None and settings.NATS_NKEY_SEED_FILE is None and seed.is_file():
        update["NATS_NKEY_SEED_FILE"] = seed
    tls = (settings.NATS_TLS_CA, settings.NATS_TLS_CERT, settings.NATS_TLS_KEY)
    if stack is not None and stack.tls and url == stack.nats_url and tls == (None, None, None):
        pair = files.cert("console")
        update |= {"NATS_TLS_CA": files.ca, "NATS_TLS_CERT": pair.cert, "NATS_TLS_KEY": pair.key}
    if stack is not None and stack.admins and not settings.CHATOPS_ADMINS:
        update["CHATOPS_ADMINS"] = stack.admins
    return settings.model_copy(update=update)


def log_level(settings: ConsoleSettings) -> str:
    """LOG_LEVEL when it was set; otherwise ERROR: at a terminal the reply already says what went wrong
    (ops not answering, a refusal), and a log line saying it again before it only gets in the way."""
    return settings.LOG_LEVEL if "LOG_LEVEL" in settings.model_fields_set else "ERROR"


def unreachable(settings: ConsoleSettings, reason: str, stack: LocalStack | None = None) -> str:
    """Why the console could not ask, and what to do; `stack` is the local stack found, if any."""
    identity = settings.NATS_CREDS or settings.NATS_NKEY_SEED_FILE
    who = f"as {identity}" if identity else "with no identity (NATS_NKEY_SEED_FILE or NATS_CREDS)"
    if settings.NATS_TLS_CERT is not None:
        who += f" with the certificate {settings.NATS_TLS_CERT}"
    said = f"cannot reach the bus at {redact.urls(settings.NATS_URL)} {who}: {reason}\n"
    if stack is not None and stack.bus is not None and stack.bus.nats_url == settings.NATS_URL:
        return said + (
            f"That is the bus `chatops up` recorded in {state_path(stack.root)}; if that stack has "
            "stopped, start it again (`make demo` or `chatops up`), or set NATS_URL for another bus."
        )
    return said + (
        "Next to `make demo` (or `chatops up`, with --tls too), run it in the checkout or a folder in it: "
        f"it reads where the bus is from {LOCAL_STATE} and connects as {LOCAL_SEED}. Elsewhere set NATS_URL, "
        "NATS_NKEY_SEED_FILE to the console's seed (or NATS_CREDS), and for a TLS bus NATS_TLS_CA, "
        "NATS_TLS_CERT and NATS_TLS_KEY."
    )


def ask_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chatops ask",
        description="Run one chat command over the bus and print the reply: chatops ask deployed version",
    )
    p.add_argument("text", nargs="+", help="the command, as you would type it in chat")
    p.add_argument(
        "--as", dest="user", default=actors.shell_user(), help="who asks (actor console:USER); default: you"
    )
    p.add_argument("--channel", default="console", help="recorded as the channel in the audit log")
    p.add_argument("--yes", action="store_true", help="confirm a command that changes something")
    p.add_argument(
        "--save-to", type=Path, default=Path("."), help="folder for pictures, e.g. a graph (default: here)"
    )
    return p


def main(argv: list[str]) -> int:
    """`chatops ask`: parse, check admins, send, print; the exit code says how it went."""
    args = ask_parser().parse_args(argv)
    return _ask_here(" ".join(args.text), args.user, args.channel, args.yes, args.save_to)


def _ask_here(text: str, user: str, channel: str, yes: bool, save_to: Path = Path(".")) -> int:
    """`_ask` with the settings, and the local stack found, from the folder the console runs in."""
    stack = stack_here()
    settings = console_settings(stack)
    logs.setup(log_level(settings), "console")
    return asyncio.run(_ask(text, user, channel, yes, settings, stack, save_to))


async def _ask(
    text: str,
    user: str,
    channel: str,
    yes: bool,
    settings: ConsoleSettings,
    stack: LocalStack | None,
    save_to: Path = Path("."),
) -> int:
    actor = actors.console(user)
    caller = Caller(
        actor=actor, actor_name=user, channel=channel, source="console", traceparent=new_traceparent()
    )
    step = decide(parse(text), actor, settings.CHATOPS_ADMINS)
    if isinstance(step, Answer):
        _print(step)
        return USAGE if step.outcome == "usage" else OK
    if isinstance(step, Confirm) and not yes:
        print(
            f"`{step.request.text}` changes the system; run it again with --yes to confirm.", file=sys.stderr
        )
        return USAGE
    try:
        nc = await connect(settings, "console", reconnect=False)
    except BusUnreachable as exc:
        print(unreachable(settings, str(exc), stack), file=sys.stderr)
        return FAILED
    try:
        if isinstance(step, Refuse):
            return await _refuse(nc, step, caller, settings.CHATOPS_COMMAND_TIMEOUT)
        request = step.request if isinstance(step, Run | Confirm) else None
        assert request is not None
        answer = await run(request, caller, bus_asker(nc, settings.CHATOPS_COMMAND_TIMEOUT))
    finally:
        await nc.close()
    _print(answer)
    if answer.doc.image is not None:
        return _save(answer.doc.image, save_to)
    return OK if answer.outcome == "ok" else FAILED


async def _refuse(nc: Client, step: Refuse, caller: Caller, timeout: float) -> int:
    """Say no; ops records the refusal in the audit log, and when ops is down the refusal still stands."""
    event = refusal_event(step.request.command, step.request.message, caller, step.doc.title)
    try:
        await record(nc, event, timeout=timeout)
    except CommandError as exc:
        log.warning("audit.refusal_not_recorded", error=exc.message, request_id=caller.request_id)
    print(to_text(step.doc), file=sys.stderr)
    return REFUSED


def _print(answer: Answer) -> None:
    """The reply as text; one that comes with a text file (a timeline's Markdown) prints the file."""
    doc = answer.doc
    text = doc.attachment.text if doc.attachment is not None else to_text(doc)
    print(text, file=sys.stdout if doc.ok else sys.stderr)


def _save(image: Image, folder: Path) -> int:
    """Write the picture a command answered with; a terminal cannot show it."""
    path = folder / image.filename
    try:
        path.write_bytes(image.data)
    except OSError as exc:
        print(f"could not save the picture to {path}: {exc.strerror or exc}", file=sys.stderr)
        return FAILED
    print(f"saved the picture to {path}")
    return OK


def history_main(argv: list[str]) -> int:
    """`chatops history`: the audit log, newest first, through the same grammar as chat."""
    p = argparse.ArgumentParser(prog="chatops history", description="Show who ran what (the audit log).")
    p.add_argument("--limit", help="how many events, 1 to 100 (default 20)")
    p.add_argument("--user", help="only this actor, e.g. slack:U024BE7LH or console:alice")
    p.add_argument("--command", help="only this command (sampling.set) or noun (sampling)")
    p.add_argument("--since", help="only events this recent, e.g. 1h or 7d")
    p.add_argument("--as", dest="who", default=actors.shell_user(), help="who asks; default: you")
    p.add_argument("words", nargs="*", help="or as in chat: limit=10 user=console:alice since=1d")
    args = p.parse_args(argv)
    flags = {"limit": args.limit, "user": args.user, "command": args.command, "since": args.since}
    options = [*args.words, *(f"{k}={v}" for k, v in flags.items() if v)]
    if any(" " in o for o in options):
        p.error("option values cannot contain spaces")
    return _ask_here(" ".join(["history", *options]), args.who, "console", False)
