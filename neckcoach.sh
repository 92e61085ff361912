#!/usr/bin/env bash
# One entry point that sets everything up on a fresh Debian machine, then runs
#   ./neckcoach.sh demo       the camera-free demo (any other neckcoach command works too)
#   ./neckcoach.sh test       the whole test suite (what CI runs)
# Set-up is idempotent and quick once done: system packages via apt where
# available (speech engine, off-screen OpenGL, Python venv), then .venv via pip.
set -euo pipefail
cd "$(dirname "$0")"

SYSTEM_PACKAGES="espeak-ng libegl1 libgl1-mesa-dri libglib2.0-0 python3-venv xvfb"

install_system_packages() {
    command -v apt-get >/dev/null 2>&1 || { echo "neckcoach: no apt-get here; skipping system packages (voice may be unavailable)" >&2; return 0; }
    local missing=()
    for p in $SYSTEM_PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "neckcoach: need root or sudo to install: ${missing[*]}" >&2; return 0; }
        sudo="sudo"
    fi
    echo "neckcoach: installing system packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

python_for_venv() {
    for py in python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "$py"; return 0
        fi
    done
    echo "neckcoach: Python 3.11 is required" >&2; return 1
}

setup_venv() {
    local stamp=.venv/.installed
    if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then return 0; fi
    local py; py=$(python_for_venv)
    [ -x .venv/bin/python ] || "$py" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[render,dev]"
    touch "$stamp"
}

install_system_packages
setup_venv
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"

cmd="${1:-demo}"
[ $# -gt 0 ] && shift
case "$cmd" in
    test) exec .venv/bin/python -m pytest "$@" ;;
    *) exec .venv/bin/neckcoach "$cmd" "$@" ;;
esac
