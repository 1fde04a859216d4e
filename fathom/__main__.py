"""`python -m fathom`: the same as the `fathom` command."""

import sys

from .cli import main

sys.exit(main())
