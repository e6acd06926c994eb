import sys

from devstack.scenario.runner import main

sys.exit(main(sys.argv[1:]))
