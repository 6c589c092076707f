#!/usr/bin/env bash
# The seeds' end-to-end cycle (README "Running under the older backend"): train the
# multi-timeframe RSI + Bollinger Bands strategy on 1h and 5m EURUSD bars, retag its weights mps
# as a model trained on Apple silicon, start the worker's image registered with the test backend,
# have the backend dispatch the backtest, read the result with the older consumers' code, and
# assess it with vbt research's statistics. Each step is printed, then the verdict.
#
#   make seed-cycle                 # or scripts/seed_cycle.sh, after make venv
#
# Environment: as scripts/docker_smoke.sh (ENGINE, BUILD_FLAGS, RUN_FLAGS, BASE_IMAGE,
# TORCH_INDEX_URL, TORCH_WHEELS, INDEX_URL), IMAGE (vbt-worker:seed), SIMULATIONS (500),
# KEEP=1 keeps the work folder. The image is built first (cached layers make a rebuild quick).
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=${ENGINE:-$(scripts/engine.sh)}
export ENGINE
export IMAGE=${IMAGE:-vbt-worker:seed}
echo "== build the worker's image"
scripts/build_image.sh "$IMAGE"
exec .venv/bin/python scripts/seed_cycle.py
