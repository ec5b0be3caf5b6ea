import sys

from storysplit.cli import main

sys.exit(main())
