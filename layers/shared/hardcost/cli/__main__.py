import sys

from hardcost.cli.commands import main

sys.exit(main())
