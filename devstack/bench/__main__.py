import sys

from devstack.bench.sync import main

sys.exit(main())
