"""The failures an RPC can end with, each carrying the gRPC status it becomes."""

from __future__ import annotations

import grpc


class PetstoreError(Exception):
    """A request failed in a way the caller should hear about, with its gRPC status."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(PetstoreError):
    """The request is malformed; the message starts with the field at fault."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class NotFound(PetstoreError):
    """Some pets named by id do not exist; nothing was changed."""

    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"no pet with id {', '.join(ids)}; nothing was changed")
        self.ids = tuple(ids)
