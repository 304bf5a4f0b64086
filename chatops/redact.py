"""Secrets out of sight: URLs without their user:password, and tokens and nkey seeds blanked in any text."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Slack tokens, and nkey seeds (S + the key type: U user, A account, O operator, N server, C cluster).
_TOKENS = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|S[UAONCX][A-Z2-7]{50,})")
# scheme://user:password@host or scheme://token@host, anywhere in a text.
_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/@]+@")
# Query parameters that carry credentials in a URL.
_SECRET_PARAMS = re.compile(r"([?&](?:token|access_token|password|secret|key|auth)=)[^&#\s]*", re.I)


def text(value: str) -> str:
    """Blank out tokens, nkey seeds and the credentials of any URL inside `value`."""
    value = _TOKENS.sub(REDACTED, value)
    value = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", value)
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{REDACTED}", value)


def url(value: str) -> str:
    """A URL as it may be shown: no user, password or credential parameters; other text as `text()`."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return text(value)
    if not parts.scheme or not parts.netloc:
        return text(value)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    clean: SplitResult = parts._replace(netloc=netloc)
    return text(urlunsplit(clean))


def urls(value: str) -> str:
    """A comma-separated list of URLs (a NATS cluster), each shown as `url()` shows it."""
    return ",".join(url(part) for part in value.split(","))
