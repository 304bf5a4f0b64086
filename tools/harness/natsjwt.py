"""An operator-managed NATS for tests: an operator, an account and its users as nkeys and signed JWTs,
the nats-server config that trusts them (a memory resolver), and users' credentials files.

A JWT here is base64url(header).base64url(claims).base64url(ed25519 signature of the first two parts),
signed by the issuer's nkey: the operator signs accounts, an account signs its users.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import nkeys

from chatops import nats_server
from chatops.access.keys import write_private
from chatops.bus import connect, jetstream
from chatops.launcher.spec import nats_component
from chatops.settings import BusSettings
from chatops.streams import provision
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.procs import Process
from tools.harness.wait import in_thread

HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}
UNLIMITED = -1


@dataclass(frozen=True)
class Key:
    """One nkey pair: its seed (`S…`, secret) and public key (`O…`, `A…`, `U…`)."""

    seed: str
    public: str

    @classmethod
    def new(cls, prefix: int) -> Key:
        seed = nkeys.encode_seed(os.urandom(32), prefix)
        pair = nkeys.from_seed(bytearray(seed))
        return cls(bytes(seed).decode(), pair.public_key.decode())

    def sign(self, data: bytes) -> bytes:
        return bytes(nkeys.from_seed(bytearray(self.seed.encode())).sign(data))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_id(claims: dict[str, Any]) -> str:
    """`jti`: base32 of SHA-512/256 over the claims' standard fields, with jti itself empty."""
    fields = ("aud", "exp", "jti", "iat", "iss", "name", "nbf", "sub")  # ClaimsData's order
    standard = {k: claims[k] for k in fields if claims.get(k)}
    digest = hashlib.new("sha512_256", json.dumps(standard, separators=(",", ":")).encode()).digest()
    return base64.b32encode(digest).rstrip(b"=").decode()


def sign(issuer: Key, subject: str, name: str, nats: dict[str, Any], *, expires: int = 0) -> str:
    """A JWT of `nats` claims about `subject`, issued and signed by `issuer` (valid until `expires`)."""
    claims: dict[str, Any] = {"iat": int(time.time()), "iss": issuer.public, "name": name, "sub": subject}
    if expires:
        claims["exp"] = expires
    claims["jti"] = claims_id(claims)
    claims["nats"] = {**nats, "version": 2}
    head = _b64(json.dumps(HEADER).encode())
    body = _b64(json.dumps(claims).encode())
    signature = issuer.sign(f"{head}.{body}".encode())
    return f"{head}.{body}.{_b64(signature)}"


def decode(token: str) -> dict[str, Any]:
    """The claims of a JWT, unchecked (for tests that look inside one)."""
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def operator_jwt(operator: Key, name: str = "test-operator", system_account: str = "") -> str:
    nats: dict[str, Any] = {"type": "operator"}
    if system_account:
        nats["system_account"] = system_account
    return sign(operator, operator.public, name, nats)


def account_jwt(
    operator: Key,
    account: Key,
    name: str,
    *,
    jetstream: bool = False,
    exports: Sequence[dict[str, Any]] = (),
    imports: Sequence[dict[str, Any]] = (),
) -> str:
    """An account signed by `operator`, without limits; `jetstream` turns JetStream on for it.

    `exports` and `imports` are claims as nats-io/jwt lays them out: an export has `subject`, `type`
    ("service" or "stream") and maybe `response_type` ("Stream"); an import has `account` (the
    exporter's public key), `subject` (as the exporter names it), `type`, maybe `local_subject` (the
    importer's name for it) and, for a service, `share` (stamp requests with Nats-Request-Info).
    """
    limits: dict[str, Any] = {
        "subs": UNLIMITED,
        "data": UNLIMITED,
        "payload": UNLIMITED,
        "imports": UNLIMITED,
        "exports": UNLIMITED,
        "wildcards": True,
        "conn": UNLIMITED,
        "leaf": UNLIMITED,
    }
    if jetstream:
        limits |= {"mem_storage": UNLIMITED, "disk_storage": UNLIMITED, "streams": UNLIMITED}
        limits |= {"consumer": UNLIMITED}
    nats: dict[str, Any] = {"type": "account", "limits": limits}
    if exports:
        nats["exports"] = list(exports)
    if imports:
        nats["imports"] = list(imports)
    return sign(operator, account.public, name, nats)


def user_jwt(
    account: Key, user: Key, name: str, *, expires: int = 0, permissions: dict[str, Any] | None = None
) -> str:
    """A user of `account`, signed by it, with no limits; without `permissions` (the claims' `pub`,
    `sub` and `resp`) it may publish and subscribe to anything."""
    nats = {"type": "user", "pub": {}, "sub": {}, "subs": UNLIMITED, "data": UNLIMITED, "payload": UNLIMITED}
    nats |= permissions or {}
    return sign(account, user.public, name, nats, expires=expires)


def creds_text(jwt: str, seed: str) -> str:
    """A credentials file in the layout `nsc` writes: the user JWT, then the user's seed."""
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{jwt}\n"
        "------END NATS USER JWT------\n"
        "\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n"
        "\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{seed}\n"
        "------END USER NKEY SEED------\n"
        "\n"
        "*************************************************************\n"
    )


@dataclass(frozen=True)
class Operator:
    """An operator with one account (JetStream on) and a system account, as nsc would make them."""

    operator: Key
    account: Key
    system: Key

    @classmethod
    def new(cls) -> Operator:
        return cls(
            Key.new(nkeys.PREFIX_BYTE_OPERATOR),
            Key.new(nkeys.PREFIX_BYTE_ACCOUNT),
            Key.new(nkeys.PREFIX_BYTE_ACCOUNT),
        )

    def user(self, name: str, *, signer: Key | None = None, expires: int = 0) -> tuple[Key, str]:
        """A new user of the account and its JWT (signed by `signer` instead, to make a bad one)."""
        user = Key.new(nkeys.PREFIX_BYTE_USER)
        return user, user_jwt(signer or self.account, user, name, expires=expires)

    def write_creds(self, path: Path, name: str, *, signer: Key | None = None) -> Key:
        """A new user's credentials file at `path` (0600); the user's key."""
        user, token = self.user(name, signer=signer)
        write_private(path, creds_text(token, user.seed).encode())
        return user

    def server_config(self, port: int, store: Path) -> str:
        """nats-server in operator mode: trusts this operator, knows the accounts from memory."""
        accounts = {
            self.account.public: account_jwt(self.operator, self.account, "CHATOPS", jetstream=True),
            self.system.public: account_jwt(self.operator, self.system, "SYS"),
        }
        return operator_config(port, store, self.operator, self.system, accounts)


def operator_config(
    port: int, store: Path, operator: Key, system: Key, accounts: dict[str, str], *, max_control_line: int = 0
) -> str:
    """nats-server trusting `operator`, with `system` as its system account and `accounts` (public key
    -> account JWT, the system account's among them) in a memory resolver; JetStream stores in `store`.
    `max_control_line`: the longest protocol line it reads (a CONNECT carries the user's JWT)."""
    preload = "\n".join(f"  {key}: {token}" for key, token in accounts.items())
    limit = f"max_control_line: {max_control_line}\n" if max_control_line else ""
    return limit + (
        f"host: {LOOPBACK}\n"
        f"port: {port}\n"
        f"server_name: operator-{port}\n"
        f"operator: {operator_jwt(operator, system_account=system.public)}\n"
        f"system_account: {system.public}\n"
        "resolver: MEMORY\n"
        f"resolver_preload: {{\n{preload}\n}}\n"
        f'jetstream: {{store_dir: "{store}"}}\n'
    )


class JwtNats(ABC):
    """nats-server in operator mode on a free port, its streams provisioned once up: a subclass
    writes the server's configuration (`serve`) and user `name`'s credentials file (`write_creds`);
    `env(name)` / `settings(name)` connect as that user with it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.store = workdir / "jetstream"
        workdir.mkdir(parents=True, exist_ok=True)

    def serve(self, config_text: str) -> None:
        """Write the configuration; the server starts with `start`."""
        config = self.workdir / "nats-operator.conf"
        config.write_text(config_text)
        component = nats_component(nats_server.find(), self.port, self.store, config=config, name="nats")
        self.proc = Process(component, self.workdir)

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    @abstractmethod
    def write_creds(self, path: Path, name: str) -> None:
        """Write user `name`'s credentials file at `path`."""

    def creds(self, name: str) -> Path:
        """The credentials file of user `name`, written the first time it is asked for."""
        path = self.workdir / "creds" / f"{name}.creds"
        if not path.exists():
            self.write_creds(path, name)
        return path

    def env(self, name: str) -> dict[str, str]:
        """The settings that connect as user `name`."""
        return {"NATS_URL": self.url, "NATS_CREDS": str(self.creds(name))}

    def settings(self, name: str) -> BusSettings:
        return BusSettings(**self.env(name))  # type: ignore[arg-type]

    def start(self) -> Self:
        self.proc.start(timeout=20)
        in_thread(self._provision())
        return self

    async def _provision(self) -> None:
        settings = self.settings("provisioner")
        nc = await connect(settings, "provisioner", reconnect=False)
        try:
            await provision(jetstream(nc, settings))
        finally:
            await nc.close()

    def stop(self) -> None:
        self.proc.stop()


class OperatorNats(JwtNats):
    """One account (see `Operator.server_config`); each user `name` is a new user of it."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.operator = Operator.new()
        self.serve(self.operator.server_config(self.port, self.store))

    def write_creds(self, path: Path, name: str) -> None:
        self.operator.write_creds(path, name)
