"""The Confirm / Cancel question and its resolved form, as messages of the renderer's document."""

from __future__ import annotations

from dataclasses import replace

from gateway.render.doc import Button, Buttons, Doc, Note, Text
from gateway.render.slack import SlackMessage, cut_markup, to_slack

CONFIRM = "chatops_confirm"
CANCEL = "chatops_cancel"


def confirm_message(doc: Doc, pending_id: str) -> SlackMessage:
    """The question with Confirm / Cancel buttons carrying the pending confirmation's id."""
    buttons = Buttons(
        (Button(CONFIRM, "Confirm", pending_id, primary=True), Button(CANCEL, "Cancel", pending_id))
    )
    return to_slack(replace(doc, footer=(*doc.footer, buttons)))


def resolved_message(note: Text, result: Doc | None = None) -> SlackMessage:
    """The question's message once handled: what happened (no buttons), then the result if any."""
    head = to_slack(Doc("", (Note(note),)))
    if result is None:
        return head
    body = to_slack(result)
    return replace(
        body, text=cut_markup(f"{head.text}\n{body.text}", 3000), blocks=(*head.blocks, *body.blocks[:49])
    )
