"""`python -m ops`: the same as `chatops ops`."""

import sys

from chatops.cli import main

if __name__ == "__main__":
    sys.exit(main(["ops", *sys.argv[1:]]))
