"""`python -m deployer`: the same as `chatops deployer`."""

import sys

from chatops.cli import main

if __name__ == "__main__":
    sys.exit(main(["deployer", *sys.argv[1:]]))
