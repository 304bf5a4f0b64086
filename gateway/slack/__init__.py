"""The Slack adapter (slack-bolt): the edge where Slack JSON becomes the gateway's own values."""
