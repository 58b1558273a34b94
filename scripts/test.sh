#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite (types, lint, unit and end-to-end tests under QEMU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run check
