"""`python -m slackemu`: the same as `chatops slackemu`."""

import sys

from chatops.cli import main as chatops_main

sys.exit(chatops_main(["slackemu", *sys.argv[1:]]))
