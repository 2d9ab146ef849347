#!/usr/bin/env bash
# Install everything the test suite needs, then run lint, type checks and the tests.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium drives the playground's browser tests (headless); ffmpeg writes MP4
# animations (GIFs need only Pillow).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} not installed; the tests that need them will be skipped" >&2
  fi
fi

python -m pip install -q -e ".[all,test]"

python -m ruff check src tests benchmarks scripts
python -m ruff format --check src tests benchmarks scripts
python -m mypy
python -m pytest "$@"
