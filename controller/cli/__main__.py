"""`python -m controller.cli` runs the `exlib` command."""

import sys

from controller.cli import main

sys.exit(main())
