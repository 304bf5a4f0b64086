"""Renderers: replies -> a chat-neutral Doc -> Slack Block Kit or console text (pure)."""
