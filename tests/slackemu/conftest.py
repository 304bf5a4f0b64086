"""The emulator fixtures, shared with other packages' tests through tests.harness.slackemu."""

from tests.harness.slackemu import slack_control, slack_emulator  # noqa: F401
