"""The one error type an Ops handler raises; the service maps its code to the micro error headers."""

from __future__ import annotations

BAD_REQUEST = 400
FORBIDDEN = 403
NOT_FOUND = 404
BACKEND_FAILED = 502
BACKEND_TIMEOUT = 504


class OpsError(Exception):
    """A command that cannot be answered; `code` follows DESIGN.md, `text` is shown to the user."""

    def __init__(self, code: int, text: str, *, backend: str = "") -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.backend = backend  # set for 502/504 so metrics can count errors per backend

    def __str__(self) -> str:
        return self.text


def bad_request(text: str) -> OpsError:
    return OpsError(BAD_REQUEST, text)
