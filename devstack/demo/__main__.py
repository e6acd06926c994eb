import sys

from devstack.demo.run import main

sys.exit(main())
