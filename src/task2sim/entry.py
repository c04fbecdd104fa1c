"""The `task2sim` program: a per-config stage command runs in the warm process when it can,
everything else (and the fallback) runs in this one through `task2sim.cli`."""

from __future__ import annotations

import sys

from task2sim.cli import run
from task2sim.warm import run_warm


def main() -> int:
    argv = sys.argv[1:]
    code = run_warm(argv)
    return run(argv) if code is None else code


if __name__ == "__main__":
    sys.exit(main())
