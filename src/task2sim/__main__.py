"""`python -m task2sim` is the same as the `task2sim` command."""

import sys

from task2sim.cli import main

sys.exit(main())
