"""Nkey identities on disk: one user seed per identity in a 0600 file, made once and kept."""

from __future__ import annotations

import os
from pathlib import Path

import nkeys

SEED_SUFFIX = ".nk"


def write_private(path: Path, data: bytes) -> None:
    """Write `data` so that only this user can read it, replacing the file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by the umask; a leftover tmp file kept its old mode
    tmp.replace(path)


def new_user_seed() -> bytes:
    """A fresh nkey user seed (`SU…`)."""
    return bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


def public_key(seed: bytes) -> str:
    """The public key (`U…`) of a user seed; ValueError when it is not one."""
    try:
        return str(nkeys.from_seed(bytearray(seed.strip())).public_key.decode())
    except nkeys.NkeysError as exc:
        raise ValueError(f"not an nkey seed: {exc}") from None


def ensure_seed(path: Path) -> str:
    """The public key of the seed at `path`, made first when there is none; always left at 0600."""
    if path.exists():
        os.chmod(path, 0o600)
        return public_key(path.read_bytes())
    seed = new_user_seed()
    write_private(path, seed + b"\n")
    return public_key(seed)
