import sys

from avsep.cli import main

sys.exit(main())
