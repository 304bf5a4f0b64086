"""The one error type an Ops handler raises; the service maps its code to the micro error headers."""

from __future__ import annotations

from chatops.errors import BAD_REQUEST


class OpsError(Exception):
    """A command that cannot be answered; `code` is one of chatops.errors, `text` is shown to the user."""

    def __init__(self, code: int, text: str, *, backend: str = "") -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.backend = backend  # set for 502/504 so metrics can count errors per backend

    def __str__(self) -> str:
        return self.text


def bad_request(text: str) -> OpsError:
    return OpsError(BAD_REQUEST, text)
