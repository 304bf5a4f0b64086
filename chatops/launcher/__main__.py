"""`python -m chatops.launcher` is `chatops up`."""

import sys

from chatops.launcher import main

sys.exit(main(sys.argv[1:]))
