"""`python -m petstore`: the same as `chatops petstore`."""

import sys

from chatops.cli import main

if __name__ == "__main__":
    sys.exit(main(["petstore", *sys.argv[1:]]))
