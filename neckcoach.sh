#!/usr/bin/env bash
# One entry point that sets everything up, then runs
#   ./neckcoach.sh demo       the camera-free demo (any other neckcoach command works too)
#   ./neckcoach.sh test       the whole test suite (what CI runs)
# Set-up is idempotent and quick once done. With apt (Debian, Ubuntu): system packages
# for speech, off-screen OpenGL and venvs, plus what the tests use (ffmpeg, Xvfb,
# Chromium) for `test`. Then .venv with Python 3.9-3.12 (3.11 preferred) and pip.
# Elsewhere (macOS, other Linux) the system packages are skipped with a note.
set -euo pipefail
cd "$(dirname "$0")"

SYSTEM_PACKAGES="espeak-ng libegl1 libgl1-mesa-dri libglib2.0-0 python3-venv"
# Tests only: ffprobe cross-checks video timestamps, ffmpeg and Xvfb screenshot a real
# window, Chromium renders the HTML report. "a|b" installs the first one apt offers.
TEST_PACKAGES="ffmpeg xvfb chromium|chromium-browser"
PYTHONS="python3.11 python3.12 python3.10 python3.9 python3"

say() { echo "neckcoach: $*" >&2; }

apt_has() {  # installed, or installable from the configured sources
    dpkg -s "$1" >/dev/null 2>&1 && return 0
    apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'
}

install_system_packages() {
    if ! command -v apt-get >/dev/null 2>&1; then
        say "no apt-get here; skipping system packages (see README: voice needs a speech engine)"
        return 0
    fi
    local missing=() wanted p alt
    for wanted in "$@"; do
        p=""
        for alt in ${wanted//|/ }; do
            if dpkg -s "$alt" >/dev/null 2>&1; then p="installed"; break; fi
        done
        [ -n "$p" ] && continue
        for alt in ${wanted//|/ }; do
            if apt_has "$alt"; then p="$alt"; break; fi
        done
        missing+=("${p:-${wanted%%|*}}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { say "need root or sudo to install: ${missing[*]}"; return 0; }
        sudo="sudo"
    fi
    say "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq || say "apt-get update failed; trying with the package lists at hand"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
        || say "could not install all of: ${missing[*]} (the app still runs; tests needing them are skipped)"
}

python_ok() {  # a Python that mediapipe 0.10.21 has wheels for
    "$1" -c 'import sys; sys.exit(not (3, 9) <= sys.version_info[:2] <= (3, 12))' >/dev/null 2>&1
}

python_for_venv() {
    local py
    for py in $PYTHONS; do
        if command -v "$py" >/dev/null 2>&1 && python_ok "$py"; then
            echo "$py"; return 0
        fi
    done
    say "Python 3.9-3.12 is required (mediapipe 0.10.21 has no wheels for other versions); install one, e.g. python3.11"
    return 1
}

setup_venv() {
    local stamp=.venv/.installed
    if [ -x .venv/bin/python ] && ! python_ok .venv/bin/python; then
        say ".venv has a Python outside 3.9-3.12; making a new one"
        rm -rf .venv
    fi
    if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then return 0; fi
    local py; py=$(python_for_venv)
    [ -x .venv/bin/python ] || "$py" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[render,dev]"
    touch "$stamp"
}

cmd="${1:-demo}"
[ $# -gt 0 ] && shift
if [ "$cmd" = "test" ]; then
    install_system_packages $SYSTEM_PACKAGES $TEST_PACKAGES
else
    install_system_packages $SYSTEM_PACKAGES
fi
setup_venv

case "$cmd" in
    test) exec .venv/bin/python -m pytest "$@" ;;
    *) exec .venv/bin/neckcoach "$cmd" "$@" ;;
esac
