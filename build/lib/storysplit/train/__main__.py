import sys

from storysplit.train.run import main

sys.exit(main())
