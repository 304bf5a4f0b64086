"""The chat-neutral command grammar: one table, a pure parser, help text."""

from gateway.commands.parser import HelpRequest, Parsed, Request, UsageError, parse
from gateway.commands.table import SPECS, Spec

__all__ = ["SPECS", "HelpRequest", "Parsed", "Request", "Spec", "UsageError", "parse"]
