"""An offline Slack that speaks Slack's wire protocol, for tests and the demo."""
