"""A sweep stage on a busy machine: its time with one other CPU-bound process running, as a
ratio to its idle time, for the default layout and the alternatives it replaced.

A sweep stage is what `dvc repro` runs 256 times (`task2sim sweep cNNN`), so a layout whose
thread team stalls when it loses a core multiplies the whole run. Layouts measured, each as the
same stage (one config, its `sweep.replicates` runs) in a fresh process:
- `workers 2 x 1 thread` (the default): the replicates in two forked processes of one torch
  thread each;
- `workers 1 x 1 thread`: the replicates one after the other in one single-threaded process;
- `workers 1 x 2 threads`: the replicates one after the other, two torch threads (the old
  default's thread team, `sweep.train.threads: 2`).
Each layout runs idle and then beside a busy loop of pure Python on one core, `--rounds` times
in turn (the best of each counts), so the ratio compares like with like in one run.

Acceptance: busy / idle <= 2 for the default layout.

    scripts/run.sh python benchmarks/busy_sweep.py [--config c255] [--rounds 2] [--json PATH]

Needs the project's rendered set of that config and its prepared tasks (`dvc repro render
prepare`), and uses the project's params.yaml.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HOG = "while True:\n    pass\n"
LAYOUTS = {"workers 2 x 1 thread (default)": (2, 1), "workers 1 x 1 thread": (1, 1),
           "workers 1 x 2 threads": (1, 2)}  # fmt: skip


def _params(tmp: Path, workers: int, threads: int) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["sweep"]["workers"] = workers
    params["sweep"]["train"]["threads"] = threads
    path = tmp / f"params-{workers}-{threads}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def _stage_seconds(params: Path, config: str, out: Path) -> float:
    env = {**os.environ, "TASK2SIM_WARM": "0"}
    command = [sys.executable, "-m", "task2sim", "sweep", config, "--force"]
    command += ["--params", str(params), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="c255", help="a config of the sweep design")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not (ROOT / "data/sets/sweep" / args.config / "meta.json").is_file():
        sys.exit(f"no rendered set data/sets/sweep/{args.config}: run `dvc repro render` first")
    times: dict[str, dict[str, float]] = {name: {} for name in LAYOUTS}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for _ in range(args.rounds):
            for name, (workers, threads) in LAYOUTS.items():
                params = _params(tmp, workers, threads)
                for state in ("idle", "busy"):
                    hog = subprocess.Popen([sys.executable, "-c", HOG]) if state == "busy" else None
                    try:
                        seconds = _stage_seconds(params, args.config, tmp / "out")
                    finally:
                        if hog is not None:
                            hog.kill()
                            hog.wait()
                    best = times[name].get(state, float("inf"))
                    times[name][state] = min(best, seconds)
    rows = {name: {**t, "ratio": t["busy"] / t["idle"]} for name, t in times.items()}
    print(f"sweep stage {args.config}: best of {args.rounds} rounds, one busy loop beside it\n")
    print("| layout | idle (s) | busy (s) | busy / idle |\n|---|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['idle']:.1f} | {row['busy']:.1f} | {row['ratio']:.2f} |")
    default = rows["workers 2 x 1 thread (default)"]["ratio"]
    print(f"\nacceptance (default busy / idle <= 2): {'met' if default <= 2 else 'not met'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
