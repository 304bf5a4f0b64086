"""`python -m notifier`: the same as `chatops notifier`."""

import sys

from chatops.cli import main

if __name__ == "__main__":
    sys.exit(main(["notifier", *sys.argv[1:]]))
