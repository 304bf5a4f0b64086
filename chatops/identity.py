"""Who sent a command, from what the NATS server stamps on it, and which actor that sender may claim.

A request that reaches a service through a service import with `share: true` carries the header
`Nats-Request-Info`, written by the server (a client's own copy is replaced): the sender's account
(its name in a server config, its public key `A…` on an operator-managed NATS) and its user's public
key (`U…`, an nkey or a JWT user alike). The roster (written by `chatops access`, or by
`chatops roster` from an operator's credentials files) maps those to identity names. An identity
may claim actors only in the namespace it speaks for (the gateway `slack:…`, the console
`console:…`); any other request acts as `nats:<identity>`; and a request whose sender is unknown
acts as `nats:unknown`, which is never an admin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from chatops import actors, logs
from chatops.actors import UNKNOWN
from chatops.settings import SettingsError
from chatops.subjects import H_REQUEST_INFO

log = logs.get_logger(__name__)

MAX_CLAIMED_ID = 200  # characters of the id in an accepted Chatops-Actor claim


class RosterError(ValueError):
    """A roster file that cannot be read; the text names the file and what is wrong."""


@dataclass(frozen=True)
class Member:
    """One identity of the roster."""

    name: str
    account: str
    nkey: str  # the user's public key, U…
    speaks_for: str = ""  # the actor namespace it may claim, e.g. "slack"


@dataclass(frozen=True)
class Roster:
    """Every identity a service may hear from, by public key."""

    members: tuple[Member, ...] = ()

    def to_json(self) -> str:
        return json.dumps({"identities": [asdict(m) for m in self.members]}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Roster:
        doc = json.loads(text)
        return cls(tuple(Member(**entry) for entry in doc["identities"]))

    @classmethod
    def load(cls, path: Path) -> Roster:
        try:
            return cls.from_json(path.read_text())
        except OSError as exc:
            raise RosterError(f"cannot read {path}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise RosterError(
                f"{path} is not a roster written by `chatops access` or `chatops roster`: {exc}"
            ) from None

    @cached_property
    def _by_key(self) -> dict[tuple[str, str], Member]:
        return {(m.account, m.nkey): m for m in reversed(self.members)}  # the first one wins

    def sender(self, headers: Mapping[str, str] | None) -> Member | None:
        """The identity the server says sent this request, or None when it did not say or is unknown."""
        raw = ""
        for key, value in (headers or {}).items():
            if key.lower() == H_REQUEST_INFO.lower():
                raw = value
        return self.sender_of(raw)

    def sender_of(self, request_info: str) -> Member | None:
        """As `sender`, from the Nats-Request-Info header's value."""
        info = parse_request_info(request_info)
        return None if info is None else self._by_key.get(info)


def request_info(headers: Mapping[str, str] | None) -> tuple[str, str] | None:
    """(account, user) from Nats-Request-Info, or None when absent or unreadable."""
    raw = ""
    for key, value in (headers or {}).items():
        if key.lower() == H_REQUEST_INFO.lower():
            raw = value
    return parse_request_info(raw)


def parse_request_info(raw: str) -> tuple[str, str] | None:
    """(account, user) from a Nats-Request-Info value, or None when empty or unreadable."""
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    account, user = doc.get("acc"), doc.get("user")
    if not isinstance(account, str) or not isinstance(user, str) or not account or not user:
        return None
    return account, user


@dataclass(frozen=True)
class Actor:
    """Who a command runs as, and how that was decided."""

    actor: str
    verified: bool  # the server named a sender the roster knows; only then may the actor be an admin
    sender: str = ""  # the identity's name
    claimed: str = ""  # the Chatops-Actor header, when it was not accepted


def resolve(claim: str, sender: Member | None) -> Actor:
    """The actor of a request that claims `claim` (the Chatops-Actor header, maybe empty)."""
    claim = claim.strip()
    if sender is None:
        return Actor(UNKNOWN, verified=False, claimed=claim)
    own = actors.nats(sender.name)
    kind, ident = actors.split(claim)
    speaks = bool(sender.speaks_for) and kind == sender.speaks_for
    if speaks and actors.is_actor(claim) and len(ident) <= MAX_CLAIMED_ID:
        return Actor(claim, verified=True, sender=sender.name)
    return Actor(own, verified=True, sender=sender.name, claimed="" if claim == own else claim)


def load_roster(path: Path | None) -> Roster:
    """A service's roster from CHATOPS_IDENTITIES; without one nobody is known (so nobody is an admin)."""
    if path is None:
        log.warning(
            "identities.none",
            effect="every command acts as nats:unknown, so nobody may change anything",
            fix="set CHATOPS_IDENTITIES to the roster `chatops access` (or `chatops roster`) writes",
        )
        return Roster()
    try:
        return Roster.load(path)
    except RosterError as exc:
        raise SettingsError(f"configuration error: CHATOPS_IDENTITIES: {exc}") from None
