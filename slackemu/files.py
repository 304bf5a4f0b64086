"""Files the way Slack's external upload flow keeps them: reserved, uploaded, completed, then shared."""

from __future__ import annotations

import itertools
import mimetypes
import secrets
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from slackemu.state import NotFound

MAX_FILE_BYTES = 4 * 1024 * 1024  # Slack allows 1 GB; an emulator in memory keeps it small
MAX_FILES = 200  # the oldest are forgotten past this, as a bound on memory
MAX_ALT_TEXT = 1000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class UploadRefused(ValueError):
    """A POST to an upload URL that Slack would answer with a non-200 status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class StoredFile:
    """One file: announced by files.getUploadURLExternal, its bytes POSTed, then completed."""

    id: str
    name: str
    length: int
    user: str
    created: int
    alt_txt: str = ""
    upload_key: str = ""
    data: bytes | None = None
    title: str = ""
    completed: bool = False
    channels: tuple[str, ...] = ()

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    @property
    def filetype(self) -> str:
        return self.name.rsplit(".", 1)[1].lower() if "." in self.name else "binary"


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk; None when the bytes are not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@dataclass
class FileStore:
    """Every file of the workspace, by id; upload keys lead to files not yet uploaded."""

    base_url: str
    team_id: str
    files: dict[str, StoredFile] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def reserve(self, name: str, length: int, user: str, alt_txt: str = "") -> StoredFile:
        """files.getUploadURLExternal: a file id and a one-time upload key for `length` bytes."""
        stored = StoredFile(
            id=f"F0{next(self._ids):07X}",
            name=name,
            length=length,
            user=user,
            created=int(time.time()),
            alt_txt=alt_txt,
            upload_key=secrets.token_urlsafe(24),
        )
        self.files[stored.id] = stored
        self._keys[stored.upload_key] = stored.id
        while len(self.files) > MAX_FILES:
            oldest = next(iter(self.files))
            self._keys.pop(self.files.pop(oldest).upload_key, None)
        return stored

    def upload_url(self, stored: StoredFile) -> str:
        return f"{self.base_url}/upload/v1/{stored.upload_key}"

    def receive(self, key: str, data: bytes) -> StoredFile:
        """The POST to an upload URL: exactly the announced number of bytes, once."""
        file_id = self._keys.get(key)
        if file_id is None or file_id not in self.files:
            raise UploadRefused(404, "unknown or used upload URL")
        stored = self.files[file_id]
        if len(data) != stored.length:
            raise UploadRefused(400, f"expected the announced {stored.length} bytes, got {len(data)}")
        del self._keys[key]
        stored = replace(stored, data=data)
        self.files[file_id] = stored
        return stored

    def complete(self, file_id: str, title: str) -> StoredFile:
        """files.completeUploadExternal for one file: only once, and only after its bytes arrived."""
        stored = self.files.get(file_id)
        if stored is None or stored.data is None or stored.completed:
            raise NotFound("file_not_found", f"no uploaded, uncompleted file {file_id}")
        stored = replace(stored, title=title or stored.name, completed=True)
        self.files[file_id] = stored
        return stored

    def shared(self, file_id: str, channel: str) -> StoredFile:
        stored = self.files[file_id]
        stored = replace(stored, channels=(*stored.channels, channel))
        self.files[file_id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile:
        """A completed file."""
        stored = self.files.get(file_id)
        if stored is None or not stored.completed:
            raise NotFound("file_not_found", f"no file {file_id}")
        return stored

    def private_path(self, stored: StoredFile) -> str:
        return f"/files-pri/{self.team_id}-{stored.id}/{stored.name}"

    def to_slack(self, stored: StoredFile) -> dict[str, Any]:
        """The `file` object of Slack's answers and of a shared message's `files`."""
        out: dict[str, Any] = {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.name,
            "title": stored.title or stored.name,
            "mimetype": stored.mimetype,
            "filetype": stored.filetype,
            "pretty_type": stored.filetype.upper(),
            "user": stored.user,
            "user_team": self.team_id,
            "editable": False,
            "size": len(stored.data or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(stored.channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "url_private": self.base_url + self.private_path(stored),
            "url_private_download": f"{self.base_url}/files-pri/{self.team_id}-{stored.id}/download/"
            f"{stored.name}",
            "permalink": f"{self.base_url}/files/{stored.user}/{stored.id}/{stored.name}",
            "channels": list(stored.channels),
            "comments_count": 0,
        }
        if stored.alt_txt:
            out["alt_txt"] = stored.alt_txt
        size = png_size(stored.data or b"")
        if size is not None:
            out["original_w"], out["original_h"] = size
        return out
