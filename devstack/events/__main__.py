import sys

from devstack.events.builders import main

sys.exit(main(sys.argv[1:]))
