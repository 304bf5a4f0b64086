"""Connecting to NATS, and sending commands to ops the way every front end does."""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from google.protobuf.message import Message
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError, NoServersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

from chatops import codec, logs, natscreds, redact
from chatops.contract import Command, Rep
from chatops.errors import FORBIDDEN, INTERNAL
from chatops.settings import BusSettings, SettingsError
from chatops.subjects import (
    H_ACTOR,
    H_ACTOR_NAME,
    H_CHANNEL,
    H_REFUSED,
    H_REQUEST_ID,
    H_SERVICE_ERROR,
    H_SERVICE_ERROR_CODE,
    H_SOURCE,
    H_TRACEPARENT,
)

log = logs.get_logger(__name__)
REASON_LIMIT = 500  # characters of a refusal's reason that ops records


def inbox_prefix(name: str) -> str:
    """Replies to `name` arrive under `_INBOX.<name>.`: the only inbox its identity may subscribe to."""
    return f"_INBOX.{name}"


def _readable(variable: str, path: Path) -> str:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise SettingsError(f"configuration error: {variable}: cannot read {path} ({exc.strerror})") from None
    return str(path)


def _credentials(path: Path) -> str:
    try:
        natscreds.check(path, now=time.time())
    except natscreds.CredsError as exc:
        raise SettingsError(f"configuration error: NATS_CREDS: {path} {exc}") from None
    return str(path)


def _seed_file(path: Path) -> str:
    readable = _readable("NATS_NKEY_SEED_FILE", path)
    try:
        natscreds.seed_public_key(path.read_text(errors="replace"))
    except natscreds.CredsError as exc:
        raise SettingsError(f"configuration error: NATS_NKEY_SEED_FILE: {path} {exc}") from None
    return readable


def tls_context(settings: BusSettings) -> ssl.SSLContext | None:
    """The TLS context for NATS_TLS_*, or None when neither a CA nor a tls:// URL asks for TLS."""
    wants_tls = any(urlsplit(u.strip()).scheme == "tls" for u in settings.NATS_URL.split(","))
    if settings.NATS_TLS_CA is None and settings.NATS_TLS_CERT is None and not wants_tls:
        return None
    cafile = _readable("NATS_TLS_CA", settings.NATS_TLS_CA) if settings.NATS_TLS_CA else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.NATS_TLS_CERT is not None and settings.NATS_TLS_KEY is not None:
        cert = _readable("NATS_TLS_CERT", settings.NATS_TLS_CERT)
        key = _readable("NATS_TLS_KEY", settings.NATS_TLS_KEY)
        try:
            context.load_cert_chain(cert, key)
        except ssl.SSLError as exc:
            raise SettingsError(
                f"configuration error: NATS_TLS_CERT: {cert} and NATS_TLS_KEY do not make a key pair "
                f"({exc.reason or exc})"
            ) from None
    return context


def connect_options(settings: BusSettings, name: str) -> dict[str, Any]:
    """What `nats.connect` needs besides callbacks: servers, identity, TLS, inbox (files must be readable)."""
    options: dict[str, Any] = {
        "servers": [u.strip() for u in settings.NATS_URL.split(",")],
        "name": f"chatops-{name}",
        "inbox_prefix": inbox_prefix(name),
    }
    if settings.NATS_CREDS is not None:
        options["user_credentials"] = _credentials(settings.NATS_CREDS)
    if settings.NATS_NKEY_SEED_FILE is not None:
        options["nkeys_seed"] = _seed_file(settings.NATS_NKEY_SEED_FILE)
    context = tls_context(settings)
    if context is not None:
        options["tls"] = context
    return options


class BusUnreachable(Exception):
    """A one-shot command could not connect: the reason is the server's or the socket's, redacted."""


async def connect(
    settings: BusSettings, name: str, *, connect_timeout: int = 2, reconnect: bool = True
) -> Client:
    """Connect as this process's identity; errors are logged, secrets redacted.

    A component reconnects forever. A one-shot command (`reconnect=False`) tries each server of
    NATS_URL twice, then raises BusUnreachable with the last reason: a refused identity or a bus that
    is not there is an answer, not a wait.
    """
    options = connect_options(settings, name)
    client = Client()
    last_error = ""

    async def on_error(exc: Exception) -> None:
        nonlocal last_error
        said = redact.text(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, NatsError) or not last_error:  # the server's reason over the socket's
            last_error = said
        if reconnect:
            log.warning("nats.error", client=name, error=said)

    async def on_disconnected() -> None:
        if not client.is_closed:  # our own close() is not worth a warning
            log.warning("nats.disconnected", client=name)

    async def on_reconnected() -> None:
        log.info("nats.reconnected", client=name)

    try:
        await client.connect(
            **options,
            connect_timeout=connect_timeout,
            allow_reconnect=True,
            max_reconnect_attempts=-1 if reconnect else 1,
            reconnect_time_wait=1,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
    except NoServersError:
        raise BusUnreachable(last_error or "no server of NATS_URL answered") from None
    return client


def jetstream(nc: Client, settings: BusSettings, *, timeout: float = 5.0) -> JetStreamContext:
    """JetStream as this identity reaches it: its account's API, or the streams' under NATS_JS_API_PREFIX."""
    return nc.jetstream(prefix=settings.NATS_JS_API_PREFIX, timeout=timeout)


@dataclass(frozen=True)
class Caller:
    """Who asks, and from where: becomes the Chatops-* headers of a command."""

    actor: str
    actor_name: str = ""
    channel: str = ""
    source: str = "console"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    traceparent: str = ""

    def headers(self) -> dict[str, str]:
        headers = {
            H_ACTOR: self.actor,
            H_ACTOR_NAME: self.actor_name,
            H_CHANNEL: self.channel,
            H_SOURCE: self.source,
            H_REQUEST_ID: self.request_id,
        }
        if self.traceparent:
            headers[H_TRACEPARENT] = self.traceparent
        return {k: v for k, v in headers.items() if v}


class CommandError(Exception):
    """A command that did not produce a reply; `code` follows DESIGN.md (0 for transport faults)."""

    code: int = 0

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OpsNotRunning(CommandError):
    """No ops process is subscribed: NATS answered "no responders"."""


class OpsTimeout(CommandError):
    """Ops took longer than the caller waits."""


class ServiceFailed(CommandError):
    """Ops answered with the micro error headers."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


async def call(
    nc: Client,
    command: Command[Any, Rep],
    request: Message,
    caller: Caller,
    *,
    timeout: float = 10.0,
) -> Rep:
    """Send one command to ops and return its reply, or raise a CommandError subclass."""
    try:
        msg = await nc.request(
            command.subject, codec.encode(request), timeout=timeout, headers=caller.headers()
        )
    except NoRespondersError:
        raise OpsNotRunning(
            f"{command.server.title} is not answering (nothing is serving {command.name})"
        ) from None
    except NatsTimeoutError:
        raise OpsTimeout(
            f"{command.server.title} did not answer {command.name} within {timeout:g}s"
        ) from None
    raise_for_error(msg.headers)
    return codec.decode(msg.data, command.reply)


async def refuse(
    nc: Client,
    command: Command[Any, Any],
    request: Message,
    caller: Caller,
    reason: str,
    *,
    timeout: float = 10.0,
) -> None:
    """Have ops record a refusal the front end made; CommandError when it could not (403 is success)."""
    headers = {**caller.headers(), H_REFUSED: " ".join(reason.split())[:REASON_LIMIT]}
    try:
        msg = await nc.request(command.subject, codec.encode(request), timeout=timeout, headers=headers)
    except NoRespondersError:
        raise OpsNotRunning("the Ops service is not answering (nothing is serving commands)") from None
    except NatsTimeoutError:
        raise OpsTimeout(f"the Ops service did not record the refusal within {timeout:g}s") from None
    try:
        raise_for_error(msg.headers)
    except ServiceFailed as exc:
        if exc.code == FORBIDDEN:
            return
        raise
    raise ServiceFailed(INTERNAL, f"ops ran {command.name} instead of recording its refusal")


def raise_for_error(headers: Mapping[str, str] | None) -> None:
    """Turn the micro error headers of a reply into ServiceFailed."""
    if not headers or H_SERVICE_ERROR_CODE not in headers:
        return
    raw = headers.get(H_SERVICE_ERROR_CODE, "")
    code = int(raw) if raw.isdigit() else INTERNAL
    raise ServiceFailed(code, headers.get(H_SERVICE_ERROR, "") or f"error {code}")


async def settle(nc: Client) -> None:
    """Return once the server has processed everything sent on `nc` so far, subscriptions included.

    nats-py's flush() writes its PING straight to the socket, ahead of commands still queued for the
    flusher task, so its PONG can come back before the server has seen a subscription made just
    before: another client's request then finds no responders. One round trip lets the flusher write
    the queue; the second PING follows it on the wire.
    """
    await nc.flush()
    await nc.flush()
