"""`python -m storysplit.train.corpus [CONFIG] [--set key=value] [--force]`: as `storysplit corpus`."""

from __future__ import annotations

import sys

from storysplit.errors import StorysplitError
from storysplit.train.corpus.build import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except StorysplitError as error:
        print(f"python -m storysplit.train.corpus: error: {error}", file=sys.stderr)
        sys.exit(2)
