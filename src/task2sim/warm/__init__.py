"""A warm process for the 512 per-config stages: torch, timm and moderngl stay imported.

Each `render@cNNN` / `sweep@cNNN` stage is its own process, and importing torch + timm alone costs
about 4.5 s of a sweep stage's ~10 s on two cores. Like a build daemon, the first such command
starts a server that imports the heavy modules once and then forks one fresh child per command;
the child takes over the caller's stdin/stdout/stderr, working folder and environment, runs the
command exactly as `task2sim` would, and its exit status becomes the caller's.

- The server never computes anything (no torch op, no GL context), so every forked child starts
  from a clean, import-only state: outputs are byte-identical to a cold run (tested).
- It is keyed by the interpreter, the package's source files, the installed packages and the
  environment variables read at import time; after any change a new server starts and the old
  one exits when idle (`TASK2SIM_WARM_IDLE` seconds, default 120).
- `TASK2SIM_WARM=0` turns it off; where fork or fd passing is missing it is off by itself.
"""

from task2sim.warm.client import WARM_COMMANDS, run_warm

__all__ = ["WARM_COMMANDS", "run_warm"]
