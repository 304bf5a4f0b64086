"""The chat-neutral command grammar: one table, a pure parser, help text."""

from gateway.commands.parser import HelpRequest, Parsed, Request, UsageError, parse
from gateway.commands.table import BY_COMMAND, SPECS, Spec, render_reply

__all__ = [
    "BY_COMMAND",
    "SPECS",
    "HelpRequest",
    "Parsed",
    "Request",
    "Spec",
    "UsageError",
    "parse",
    "render_reply",
]
