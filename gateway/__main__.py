"""`python -m gateway`: the same as `chatops gateway`."""

import sys

from chatops.cli import main

if __name__ == "__main__":
    sys.exit(main(["gateway", *sys.argv[1:]]))
