"""`python -m ops`: run the Ops service."""

import sys

from ops.cli import main

sys.exit(main(sys.argv[1:]))
