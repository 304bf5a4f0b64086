"""The trust layout `chatops access` writes, built the way an operator-managed NATS holds it: in JWTs.

Each account of chatops/access/config.py becomes an account JWT with the same exports and imports
(a service import with `share: true` keeps it: the server stamps Nats-Request-Info), an export meant
for some accounts only requires an activation token that its exporter signed for each of them, and
each identity becomes a user JWT of its account with the same permissions. `AccessNats` runs
nats-server trusting them and hands out a credentials file per identity.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys
from nats.aio.client import Client

from chatops.access import config
from chatops.access.keys import write_private
from chatops.access.table import IDENTITIES, SERVICE_JS_API, identity
from chatops.bus import connect
from chatops.settings import BusSettings
from chatops.subjects import covers
from tools.harness.natsjwt import JwtNats, Key, account_jwt, creds_text, operator_config, sign, user_jwt
from tools.harness.ports import LOOPBACK

KINDS = ("service", "stream")
MAX_CONTROL_LINE = 16384


def _kind(entry: Mapping[str, Any]) -> str:
    return next(kind for kind in KINDS if kind in entry)


def permissions(perms: Mapping[str, Any]) -> dict[str, Any]:
    """A server config user's `permissions` as user JWT claims (`pub`, `sub`, `resp`)."""
    claims: dict[str, Any] = {
        "pub": dict(perms.get("publish", {})),
        "sub": dict(perms.get("subscribe", {})),
    }
    if perms.get("allow_responses"):
        claims["resp"] = {"max": 1, "ttl": 0}  # the server's defaults, as `allow_responses: true`
    return claims


@dataclass(frozen=True)
class AccessTrust:
    """An operator, a system account, one account per account of the table, one user per identity."""

    operator: Key
    system: Key
    accounts: dict[str, Key]  # by account name
    users: dict[str, Key]  # by identity name

    @classmethod
    def new(cls) -> AccessTrust:
        names = dict.fromkeys(i.account for i in IDENTITIES)
        return cls(
            Key.new(nkeys.PREFIX_BYTE_OPERATOR),
            Key.new(nkeys.PREFIX_BYTE_ACCOUNT),
            {name: Key.new(nkeys.PREFIX_BYTE_ACCOUNT) for name in names},
            {i.name: Key.new(nkeys.PREFIX_BYTE_USER) for i in IDENTITIES},
        )

    def layout(self, port: int, store: Path) -> dict[str, Any]:
        """The accounts `chatops access` would write for these users (config.document's `accounts`)."""
        options = config.ServerOptions(LOOPBACK, port, store, f"operator-{port}")
        doc = config.document(options, {name: key.public for name, key in self.users.items()})
        accounts: dict[str, Any] = doc["accounts"]
        return accounts

    def _import(self, importer: str, entry: Mapping[str, Any], exports: Mapping[str, Any]) -> dict[str, Any]:
        kind = _kind(entry)
        exporter, subject = entry[kind]["account"], entry[kind]["subject"]
        claim: dict[str, Any] = {
            "name": subject,
            "subject": subject,
            "account": self.accounts[exporter].public,
            "type": kind,
        }
        if entry.get("to"):
            claim["local_subject"] = entry["to"]
        if entry.get("share"):
            claim["share"] = True
        if any(
            e["token_req"] for e in exports[exporter] if e["type"] == kind and covers(e["subject"], subject)
        ):
            activation = {"type": "activation", "subject": subject, "kind": kind}
            claim["token"] = sign(
                self.accounts[exporter], self.accounts[importer].public, subject, activation
            )
        return claim

    def account_jwts(self, layout: Mapping[str, Any]) -> dict[str, str]:
        """Public key -> account JWT, for every account of `layout` and the system account."""
        exports = {name: export_claims(body.get("exports", [])) for name, body in layout.items()}
        tokens = {self.system.public: account_jwt(self.operator, self.system, "SYS")}
        for name, body in layout.items():
            tokens[self.accounts[name].public] = account_jwt(
                self.operator,
                self.accounts[name],
                name,
                jetstream="jetstream" in body,
                exports=exports[name],
                imports=[self._import(name, i, exports) for i in body.get("imports", [])],
            )
        return tokens

    def user_token(self, name: str, layout: Mapping[str, Any], user: Key | None = None) -> str:
        """The user JWT of identity `name` (or of another `user` with its account and permissions)."""
        entry = identity(name)
        public = self.users[name].public
        perms = next(u["permissions"] for u in layout[entry.account]["users"] if u["nkey"] == public)
        return user_jwt(
            self.accounts[entry.account], user or self.users[name], name, permissions=permissions(perms)
        )


def export_claims(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A server config account's exports as JWT export claims: one per subject (the config may export
    one subject to each account in an entry of its own), `token_req` when only named accounts may
    import it (each gets an activation token)."""
    claims: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        kind = _kind(entry)
        subject = entry[kind]
        claim = claims.setdefault(
            (kind, subject), {"name": subject, "subject": subject, "type": kind, "token_req": True}
        )
        if entry.get("response_type") == "stream":
            claim["response_type"] = "Stream"
        if not entry.get("accounts"):
            claim["token_req"] = False
    return list(claims.values())


class AccessNats(JwtNats):
    """The `chatops access` layout as JWTs; each user `name` is the table's identity `name`."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.trust = AccessTrust.new()
        self.layout = self.trust.layout(self.port, self.store)
        accounts = self.trust.account_jwts(self.layout)
        # The table's least privilege makes ops' and the gateway's user JWTs ~5 KB, past the default
        # 4 KB protocol line that their CONNECT has to fit in.
        self.serve(
            operator_config(
                self.port,
                self.store,
                self.trust.operator,
                self.trust.system,
                accounts,
                max_control_line=MAX_CONTROL_LINE,
            )
        )

    def write_creds(self, path: Path, name: str) -> None:
        token = self.trust.user_token(name, self.layout)
        write_private(path, creds_text(token, self.trust.users[name].seed).encode())

    def creds_like(self, name: str, path: Path) -> Key:
        """A new user with identity `name`'s account and permissions, but not its key: its creds at `path`."""
        user = Key.new(nkeys.PREFIX_BYTE_USER)
        write_private(path, creds_text(self.trust.user_token(name, self.layout, user), user.seed).encode())
        return user

    def env(self, name: str) -> dict[str, str]:
        env = super().env(name)
        if identity(name).service is not None:
            env["NATS_JS_API_PREFIX"] = SERVICE_JS_API
        return env

    @contextlib.asynccontextmanager
    async def senders(self, stranger: Path) -> AsyncIterator[dict[str, Client]]:
        """The gateway and tools identities connected, and a stranger: a user of the gateway's account
        with the gateway's permissions whom no roster names (its creds written at `stranger`)."""
        self.creds_like("gateway", stranger)
        settings = {
            "gateway": self.settings("gateway"),
            "tools": self.settings("tools"),
            "stranger": BusSettings(NATS_URL=self.url, NATS_CREDS=stranger),
        }
        # The stranger has the gateway's permissions, so its replies come to the gateway's inbox prefix.
        connected = {
            name: await connect(s, "tools" if name == "tools" else "gateway", reconnect=False)
            for name, s in settings.items()
        }
        try:
            yield connected
        finally:
            for client in connected.values():
                await client.close()
