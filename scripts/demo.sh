#!/usr/bin/env bash
# The main job on a fresh machine: set everything up, then run ingot's whole story with examples/notes
# (ingot demo: build, deploy to dev, promote to test, a blue/green deploy under load, a broken
# version refused, a rollback, the logs, a summary). The environments keep running afterwards;
# pass --cleanup to remove them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bin/ingot demo "$@"
