"""`python -m deployer`: run the deploy agent."""

import sys

from deployer.cli import main

sys.exit(main(sys.argv[1:]))
