"""`python -m task2sim` is the same as the `task2sim` command."""

import sys

from task2sim.entry import main

sys.exit(main())
