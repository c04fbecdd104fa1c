#!/usr/bin/env bash
# Set the machine up (idempotent; quick when already done), then run a command inside the project's
# environment. The README's two commands: `scripts/run.sh dvc repro` and `scripts/run.sh pytest`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH" VIRTUAL_ENV="$ROOT/.venv"
export DVC_NO_ANALYTICS=1 PYTHONHASHSEED=0
exec "$@"
