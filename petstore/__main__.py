import sys

from petstore.cli import main

sys.exit(main(sys.argv[1:]))
