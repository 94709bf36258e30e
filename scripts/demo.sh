#!/usr/bin/env bash
# make demo: until the example system lands, check the example programs.
set -euo pipefail
cd "$(dirname "$0")/.."
./bin/gxl version
