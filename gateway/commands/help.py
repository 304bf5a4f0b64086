"""Help text and the Markdown command reference, both drawn from the command table."""

from __future__ import annotations

from gateway.commands.table import SPECS, Spec


def overview() -> tuple[tuple[str, str], ...]:
    """(phrase, summary) for every command, in table order."""
    return tuple((s.phrase, s.summary) for s in SPECS)


def topic(spec: Spec) -> tuple[str, ...]:
    """The lines of `help <command>`: usage, summary, options, examples."""
    lines = [f"`{spec.usage}`", spec.summary, *spec.details]
    lines.extend(f"Example: `{e}`" for e in spec.examples)
    return tuple(lines)


def markdown() -> str:
    """The README's command reference: one section per command with an example."""
    out = [
        "## Chat commands",
        "",
        "Mention the bot (`@chatops deployed version`) or send it a direct message. "
        "Commands marked *admins* need your Slack user id in `CHATOPS_ADMINS` and ask you to "
        'confirm with a button first. `chatops ask "…"` runs the same commands from a shell: next '
        "to `make demo` or `chatops up` (with `--tls` or `--base-port` too), run it in the checkout "
        "or a folder in it: it reads where the bus is from `.chatops/state.json` and connects as the "
        "local stack's console identity (`.chatops/creds/console.nk`, with `--tls` also its certificate in "
        "`.chatops/tls/`). Elsewhere set `NATS_URL`, give it an identity with `NATS_NKEY_SEED_FILE` "
        "or `NATS_CREDS`, and for a TLS bus `NATS_TLS_CA`, `NATS_TLS_CERT` and `NATS_TLS_KEY`; "
        "what you set always wins. In the demo (the offline Slack) you are an admin there too, as "
        "`console:<your login>`: `chatops ask --yes change sampling float 0.5`.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    out.extend(f"| `{_cell(s.usage)}` | {s.summary} |" for s in SPECS)
    for spec in SPECS:
        out += ["", f"### {spec.phrase}", "", spec.summary, "", "```", spec.usage, "```"]
        if spec.details:
            out.append("")
            out.extend(f"- {d}" for d in spec.details)
        out += ["", "Example:", "", "```", *(f"@chatops {e}" for e in spec.examples), "```"]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    # A bare | would end the Markdown table cell.
    return text.replace("|", "\\|")
