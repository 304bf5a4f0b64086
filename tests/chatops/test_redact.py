"""Secrets out of sight: URLs without user:password, tokens and nkey seeds blanked."""

from __future__ import annotations

from chatops import logs, redact
from chatops.access.keys import new_user_seed


def test_urls_lose_their_credentials_and_keep_the_rest() -> None:
    assert (
        redact.url("http://admin:hunter2@prom.internal:9090/api?x=1") == "http://prom.internal:9090/api?x=1"
    )
    assert redact.url("https://tok@am.example/#/silences/1") == "https://am.example/#/silences/1"
    assert redact.url("http://[::1]:9093/") == "http://[::1]:9093/"
    assert redact.url("http://127.0.0.1:9090") == "http://127.0.0.1:9090"
    assert (
        redact.url("https://hooks.example/x?token=abc&y=2") == "https://hooks.example/x?token=[redacted]&y=2"
    )
    assert redact.urls("nats://a:b@n1:4222, tls://n2:4222") == "nats://n1:4222,tls://n2:4222"


def test_text_blanks_tokens_seeds_and_credentials_inside_urls() -> None:
    seed = new_user_seed().decode()
    text = f"Prometheus is unreachable at http://u:p4ss@prom:9090/x: token xoxb-1-2-abc, seed {seed}"
    clean = redact.text(text)
    assert "p4ss" not in clean and "xoxb-1-2-abc" not in clean and seed not in clean
    assert "http://[redacted]@prom:9090/x" in clean
    # The log formatter uses the same rules, for every line.
    assert seed not in logs.format_event("x", {"error": text}) and "p4ss" not in logs.format_event(
        "x", {"e": text}
    )
    assert logs.format_event("x", {"seed_file": "/k.nk"}) == "x seed_file=[redacted]"
