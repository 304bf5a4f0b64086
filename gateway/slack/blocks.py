"""Slack-only message shapes: the Confirm / Cancel question and its resolved form."""

from __future__ import annotations

from dataclasses import replace

from gateway.render.doc import Doc
from gateway.render.slack import SlackMessage, escape, to_slack

CONFIRM = "chatops_confirm"
CANCEL = "chatops_cancel"


def confirm_message(doc: Doc, pending_id: str) -> SlackMessage:
    """The question with Confirm / Cancel buttons carrying the pending confirmation's id."""
    base = to_slack(doc)
    buttons = {
        "type": "actions",
        "block_id": f"chatops_confirm_{pending_id}",
        "elements": [
            {
                "type": "button",
                "action_id": CONFIRM,
                "style": "primary",
                "value": pending_id,
                "text": {"type": "plain_text", "text": "Confirm"},
            },
            {
                "type": "button",
                "action_id": CANCEL,
                "value": pending_id,
                "text": {"type": "plain_text", "text": "Cancel"},
            },
        ],
    }
    return SlackMessage(base.text, (*base.blocks[:49], buttons))


def resolved_message(note: str, result: Doc | None = None) -> SlackMessage:
    """The question's message once handled: what happened (no buttons), then the result if any."""
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]}
    if result is None:
        return SlackMessage(note, (context,))
    body = to_slack(result)
    return replace(body, text=f"{note}\n{body.text}"[:3000], blocks=(context, *body.blocks[:49]))
