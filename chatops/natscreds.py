"""NATS_CREDS and NATS_NKEY_SEED_FILE: checking an identity file (a credentials file, a user JWT and
its nkey seed; or a seed alone) before nats-py reads it.

nats-py takes the path and reads the file again at every (re)connect, so a rotated file is picked up;
but given a file that is not in the layout `nsc` writes it fails deep inside the client (a TypeError
on a missing seed block, an endless loop on a missing JWT block) or sends a garbled JWT that the
server only answers with 'Authorization Violation'. Checking first turns each of those into one
sentence naming what is wrong; so does a seed file it would answer with a bare 'invalid seed'.
Nothing said here ever quotes the seed (nor the JWT).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nkeys

JWT_BEGIN = "BEGIN NATS USER JWT"
JWT_END = "END NATS USER JWT"
SEED_BEGIN = "BEGIN USER NKEY SEED"
SEED_END = "END USER NKEY SEED"


class CredsError(ValueError):
    """A credentials file that cannot be used; the text says why, without any of its secrets."""


@dataclass(frozen=True)
class UserCreds:
    """Who a credentials file connects as (public facts only: no seed, no JWT)."""

    user: str  # the user's public key, U…
    account: str  # the account that issued the user, A…
    name: str
    expires: float | None  # the JWT's `exp`, seconds since the epoch


def _block(lines: list[str], begin: str, end: str) -> str | None:
    """The one line between a `-----BEGIN …-----` line and its `------END …------` line."""
    for i, line in enumerate(lines):
        if begin in line and line.startswith("---"):
            if i + 2 < len(lines) and end in lines[i + 2] and lines[i + 2].startswith("---"):
                return lines[i + 1]
            raise CredsError(
                f"has a broken {begin.removeprefix('BEGIN ')} block (the line after its BEGIN "
                f"line must be the value, the one after that its END line)"
            )
    return None


def _claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise CredsError("holds a user JWT that is not a JWT (three dot-separated parts)")
    body = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        raise CredsError("holds a user JWT whose claims cannot be read") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("nats"), dict):
        raise CredsError("holds a user JWT without NATS claims")
    return claims


def _user_key(seed: str) -> str:
    try:
        prefix, _ = nkeys.decode_seed(bytearray(seed.encode()))
        key = str(nkeys.from_seed(bytearray(seed.encode())).public_key.decode())
    except (nkeys.NkeysError, ValueError):  # their messages are generic; the seed is never repeated
        raise CredsError("holds no valid nkey seed") from None
    if prefix != nkeys.PREFIX_BYTE_USER:
        raise CredsError("holds a seed that is not a user's (a user seed starts with SU)")
    return key


def parse(text: str, *, now: float) -> UserCreds:
    """Check a credentials file's text the way nats-py will read it; CredsError says what is wrong."""
    if "\r" in text:
        raise CredsError("has Windows line endings (CRLF), which nats-py misreads: convert it (dos2unix)")
    lines = text.split("\n")
    token = _block(lines, JWT_BEGIN, JWT_END)
    seed = _block(lines, SEED_BEGIN, SEED_END)
    if token is None:
        if seed is None and text.strip().startswith("SU") and len(text.split()) == 1:
            raise CredsError(
                "holds an nkey seed alone, not a credentials file: use NATS_NKEY_SEED_FILE for it"
            )
        raise CredsError(f"is not a NATS credentials file: it has no -----{JWT_BEGIN}----- block")
    if seed is None:
        raise CredsError(
            f"has no -----{SEED_BEGIN}----- block: a credentials file holds the JWT and the seed"
        )
    claims = _user_claims(token.strip())
    key = _user_key(seed.strip())
    subject = str(claims.get("sub", ""))
    if key != subject:
        raise CredsError(f"holds the seed of {key}, but its JWT is for user {subject[:60]}: they must match")
    return _user_of(claims, now=now)


def _user_claims(token: str) -> dict[str, Any]:
    claims = _claims(token)
    kind = claims["nats"].get("type")
    if kind != "user":
        raise CredsError(f"holds a JWT of type {str(kind)[:20]!r}, not a user's")
    return claims


def _user_of(claims: dict[str, Any], *, now: float) -> UserCreds:
    """The public facts of a user JWT's claims; CredsError when it expired."""
    nats = claims["nats"]
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires > 0:
        if expires <= now:
            when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            raise CredsError(f"holds a user JWT that expired at {when}: ask for new credentials")
    else:
        expires = None
    account = str(nats.get("issuer_account") or claims.get("iss", ""))
    user = str(claims.get("sub", ""))
    return UserCreds(user=user, account=account, name=str(claims.get("name", "")), expires=expires)


def public_identity(text: str, *, now: float) -> UserCreds:
    """Who a credentials file, or a user JWT alone (`nsc describe user --raw`: no seed), connects as."""
    if JWT_BEGIN in text:
        return parse(text, now=now)
    token = text.strip()
    if token.startswith("SU") and len(token.split()) == 1:
        raise CredsError("holds an nkey seed alone: give the user's credentials file or its JWT")
    if not token or len(token.split()) != 1:
        raise CredsError(
            f"is neither a NATS credentials file nor a user JWT: it has no -----{JWT_BEGIN}----- block"
        )
    creds = _user_of(_user_claims(token), now=now)
    if not creds.user.startswith("U") or not creds.account.startswith("A"):
        raise CredsError("holds a user JWT that names no user key (U…) and account key (A…)")
    return creds


def check(path: Path, *, now: float) -> UserCreds:
    """Read and check the credentials file at `path`; CredsError says what is wrong."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CredsError(f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise CredsError("is not a NATS credentials file (not text)") from None
    return parse(text, now=now)


def seed_public_key(text: str) -> str:
    """The public key of a seed file's user seed; CredsError says what the file is instead."""
    if JWT_BEGIN in text:
        raise CredsError("is a credentials file, not a seed: use NATS_CREDS for it")
    return _user_key(text.strip())
