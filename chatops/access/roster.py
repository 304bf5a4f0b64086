"""`chatops roster OUT NAME[:SPEAKS_FOR]=FILE …`: the roster a service reads (CHATOPS_IDENTITIES) on an
operator-managed NATS, from each sender's credentials file or user JWT.

There the operator, not `chatops access`, makes the users. A request that crossed a service import
with `share: true` is stamped with the sender's account and user public keys (Nats-Request-Info), and
both are public facts of the user's JWT (`issuer_account` or `iss`, and `sub`), so the roster needs no
seed: a user JWT alone (`nsc describe user NAME --raw`) is enough. NAME is what the audit log calls
the sender (`nats:NAME`); SPEAKS_FOR is the actor namespace whose Chatops-Actor claims it may make,
by default what the access table says for that name (gateway: slack, console: console).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from chatops import actors
from chatops.access.table import IDENTITIES
from chatops.identity import Member, Roster
from chatops.natscreds import CredsError, public_identity

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_TABLE = {i.name: i.speaks_for for i in IDENTITIES}


class EntryError(ValueError):
    """An argument or a file that makes no roster entry; the text says which and why."""


@dataclass(frozen=True)
class Entry:
    """One NAME[:SPEAKS_FOR]=FILE argument."""

    name: str
    speaks_for: str
    path: Path

    @classmethod
    def parse(cls, arg: str) -> Entry:
        who, sep, path = arg.partition("=")
        name, colon, namespace = who.partition(":")
        if not sep or not path:
            raise EntryError(f"{arg!r}: write NAME[:SPEAKS_FOR]=FILE, e.g. gateway:slack=gateway.creds")
        if not _NAME.match(name):
            raise EntryError(f"{arg!r}: a name is lower-case letters, digits, '.', '_' or '-'")
        if not colon:
            namespace = _TABLE.get(name, "")
        elif namespace == actors.NATS or (namespace and not actors.is_actor(f"{namespace}:id")):
            raise EntryError(
                f"{arg!r}: {namespace!r} is not a namespace it may speak for "
                f"(an actor kind, lower-case, not {actors.NATS!r})"
            )
        return cls(name, namespace, Path(path))

    def member(self, *, now: float) -> Member:
        try:
            text = self.path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise EntryError(
                f"{self.path}: cannot be read ({getattr(exc, 'strerror', None) or exc})"
            ) from None
        try:
            user = public_identity(text, now=now)
        except CredsError as exc:
            raise EntryError(f"{self.path}: {exc}") from None
        return Member(self.name, user.account, user.user, self.speaks_for)


def build(entries: list[Entry], *, now: float) -> Roster:
    """The roster of `entries`; EntryError when a name or a user is listed twice."""
    members = [entry.member(now=now) for entry in entries]
    for attr, what in (("name", "name"), ("nkey", "user key")):
        seen: set[str] = set()
        for member in members:
            value = getattr(member, attr)
            if value in seen:
                raise EntryError(f"{member.name}: its {what} {value} is listed twice")
            seen.add(value)
    return Roster(tuple(members))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chatops roster",
        description="Write the roster ops and the deployer read (CHATOPS_IDENTITIES) for an "
        "operator-managed NATS: which user is which sender. Each FILE is a user's credentials file "
        "or its JWT alone (nsc describe user NAME --raw); only its public keys are read.",
    )
    p.add_argument("out", type=Path, help="the roster to write, e.g. identities.json")
    p.add_argument(
        "entries",
        nargs="+",
        metavar="NAME[:SPEAKS_FOR]=FILE",
        help="a sender: its name in the audit log (nats:NAME), the actor namespace whose "
        "Chatops-Actor it may claim (default for gateway: slack, console: console, others none), "
        "and its credentials or JWT file",
    )
    return p


def main(argv: list[str]) -> int:
    """Write the roster and say who is in it."""
    args = parser().parse_args(argv)
    try:
        roster = build([Entry.parse(a) for a in args.entries], now=time.time())
    except EntryError as exc:
        print(f"chatops roster: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(roster.to_json())
    for m in roster.members:
        speaks = f"{m.speaks_for}:…" if m.speaks_for else f"{actors.nats(m.name)} only"
        print(f"{m.name:<12} account {m.account} user {m.nkey} acts as {speaks}")
    print(f"wrote {args.out} (give it to ops and the deployer as CHATOPS_IDENTITIES)")
    return 0
