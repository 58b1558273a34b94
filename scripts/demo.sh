#!/usr/bin/env bash
# The main job on a fresh machine: set everything up, build the example app's image and boot it.
# Prints the URL once the app is healthy; Ctrl-C stops the instance gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bin/ingot build examples/hello
exec bin/ingot run hello
