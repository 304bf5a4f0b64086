"""Typed settings, read once from the environment and `.env`; a bad value names its variable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chatops.admins import normalise_all

S = TypeVar("S", bound="BusSettings")


class SettingsError(SystemExit):
    """Start-up failure caused by configuration; its text is one line naming the variable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def check_nats_urls(value: str) -> str:
    """nats://, tls://, ws:// or wss:// URLs, comma-separated, with no credentials; or ValueError."""
    for part in value.split(","):
        url = urlsplit(part.strip())
        if url.scheme not in ("nats", "tls", "ws", "wss") or not url.hostname:
            raise ValueError("must be nats://host:port (comma-separated for a cluster)")
        if "@" in url.netloc:
            # The error does not echo the value: it holds a secret.
            raise ValueError(
                "must not carry a user, password or token: use NATS_CREDS or NATS_NKEY_SEED_FILE"
            )
    return value


def _http_url(value: str) -> str:
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _optional_http_url(value: str) -> str:
    return _http_url(value) if value else value


def check_host_port(value: str) -> str:
    """`host:port` with a port in 0..65535, or ValueError saying the expected form."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be host:port, e.g. 127.0.0.1:8080")
    return value


def _host_ports(value: str) -> str:
    parts = [p.strip() for p in value.split(",")]
    for part in parts:
        check_host_port(part)
    if len(parts) > 1 and not all(_is_ipv4(p.rpartition(":")[0]) for p in parts):
        # gRPC balances over a list only of literal addresses (its `ipv4:` target).
        raise ValueError("a list of several must name IPv4 addresses, e.g. 127.0.0.1:6742,127.0.0.1:6743")
    return value


def _is_ipv4(host: str) -> bool:
    pieces = host.split(".")
    return len(pieces) == 4 and all(p.isdigit() and int(p) <= 255 for p in pieces)


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return value


def _csv(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    raise ValueError("must be a comma-separated list")


def _admins(value: object) -> tuple[str, ...]:
    return normalise_all(_csv(value))


def _unset_when_empty(value: object) -> object:
    # `VAR=` (or docker-compose's `${VAR:-}`) means "not set", not the current folder.
    return None if isinstance(value, str) and not value.strip() else value


NatsUrl = Annotated[str, AfterValidator(check_nats_urls)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
OptionalHttpUrl = Annotated[str, AfterValidator(_optional_http_url)]
HostPort = Annotated[str, AfterValidator(check_host_port)]
# One host:port, or several IPv4 ones separated by commas (the instances of a service).
HostPorts = Annotated[str, AfterValidator(_host_ports)]
RequiredSecret = Annotated[SecretStr, AfterValidator(_not_empty)]
OptionalPath = Annotated[Path | None, BeforeValidator(_unset_when_empty)]
CsvList = Annotated[tuple[str, ...], NoDecode, Field(default=()), BeforeValidator(_csv)]
# CHATOPS_ADMINS: actors in full; a bare Slack id `U123` becomes `slack:U123` (see chatops.admins).
AdminList = Annotated[tuple[str, ...], NoDecode, Field(default=()), BeforeValidator(_admins)]


DAY = 24 * 3600.0
# JetStream API subjects: an account's own, or another account's imported under a prefix.
_JS_PREFIX = r"^\$JS(\.[A-Za-z0-9_-]+)?\.API$"


class BusSettings(BaseSettings):
    """What every process needs: where the bus is, who it connects as, how much to log, stream limits."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        case_sensitive=True,
    )

    NATS_URL: NatsUrl = "nats://127.0.0.1:4222"
    LOG_LEVEL: str = Field(default="INFO", pattern=r"^(?i:debug|info|warning|error)$")
    # Who this process is on the bus: a credentials file (user JWT and seed), or an nkey seed file.
    NATS_CREDS: OptionalPath = None
    NATS_NKEY_SEED_FILE: OptionalPath = None
    # TLS: the CA that signed the server's certificate, and this process's client certificate.
    NATS_TLS_CA: OptionalPath = None
    NATS_TLS_CERT: OptionalPath = None
    NATS_TLS_KEY: OptionalPath = None
    # Where this identity reaches JetStream: a service in an account of its own (ops) sees the
    # streams' account under a prefix (`$JS.CHATOPS.API` with the generated NATS config).
    NATS_JS_API_PREFIX: str = Field(default="$JS.API", pattern=_JS_PREFIX)
    # Streams and buckets: created with these, raised to them by `chatops provision`, never lowered.
    CHATOPS_REPLICAS: int = Field(default=1, ge=1, le=5)
    ALERTS_MAX_AGE: float = Field(default=30 * DAY, gt=0)
    ALERTS_MAX_BYTES: int = Field(default=1 << 30, gt=0)
    AUDIT_MAX_AGE: float = Field(default=365 * DAY, gt=0)
    AUDIT_MAX_BYTES: int = Field(default=1 << 30, gt=0)
    DEPLOYS_MAX_AGE: float = Field(default=365 * DAY, gt=0)
    DEPLOYS_MAX_BYTES: int = Field(default=256 << 20, gt=0)

    @model_validator(mode="after")
    def _identity(self) -> BusSettings:
        if self.NATS_CREDS is not None and self.NATS_NKEY_SEED_FILE is not None:
            raise ValueError("NATS_CREDS: set it or NATS_NKEY_SEED_FILE, not both")
        if (self.NATS_TLS_CERT is None) != (self.NATS_TLS_KEY is None):
            raise ValueError("NATS_TLS_CERT: set it and NATS_TLS_KEY together (the client certificate)")
        return self


def load_settings(cls: type[S]) -> S:
    """Read `cls` from the environment; on a bad value raise SettingsError naming the variable."""
    try:
        return cls()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        reason = first["msg"].removeprefix("Value error, ")
        more = len(exc.errors()) - 1
        tail = f" (and {more} more)" if more else ""
        where = f"{name}: " if name else ""  # model-level checks name their variable themselves
        raise SettingsError(f"configuration error: {where}{reason}{tail}") from None
