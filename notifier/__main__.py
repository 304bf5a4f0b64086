"""`python -m notifier`: the same as `chatops notifier`."""

import sys

from notifier.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
