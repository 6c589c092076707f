#!/usr/bin/env bash
# Build the worker image with docker or podman, start it, send it the seeds' case (a model whose
# weights are tagged `mps`, as saved on an Apple-silicon machine) and check the metrics against a
# CLI backtest of the same weights, tagged cpu, inside the same image.
#
#   scripts/docker_smoke.sh                      # docker if its daemon answers, else podman
#   ENGINE=podman BASE_IMAGE=localhost/debian-py311 TORCH_WHEELS=.whl TORCH_INDEX_URL= \
#       scripts/docker_smoke.sh                  # a local base image and a local torch wheel
#
# Environment: ENGINE (may carry global flags), IMAGE (vbt-worker:smoke), BASE_IMAGE,
# TORCH_INDEX_URL, TORCH_WHEELS, PIP_INDEX_URL, BUILD_FLAGS and RUN_FLAGS (extra engine flags,
# e.g. podman in a sandbox: ENGINE="podman --runtime runc --cgroup-manager=cgroupfs"
# BUILD_FLAGS="--format docker --isolation chroot"
# RUN_FLAGS="--ulimit nofile=4096:4096 --ulimit nproc=4096:4096"), PORT (15003), KEEP=1 keeps
# the container and the temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

if [ -z "${ENGINE:-}" ]; then
    if docker info >/dev/null 2>&1; then ENGINE=docker; elif command -v podman >/dev/null; then ENGINE=podman
    else echo "docker_smoke: neither a docker daemon nor podman" >&2; exit 2; fi
fi
IMAGE=${IMAGE:-vbt-worker:smoke}
PORT=${PORT:-15003}
TOKEN="smoke-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
WORK=$(mktemp -d)
NAME="vbt-smoke-$$"
cleanup() {
    if [ "${KEEP:-0}" != 1 ]; then
        $ENGINE rm -f "$NAME" >/dev/null 2>&1 || true
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

build_args=()
for arg in BASE_IMAGE TORCH_INDEX_URL TORCH_WHEELS PIP_INDEX_URL; do
    if [ -n "${!arg+set}" ]; then build_args+=(--build-arg "$arg=${!arg}"); fi
done
echo "== build $IMAGE with $ENGINE ${build_args[*]}"
# shellcheck disable=SC2086  # ENGINE, BUILD_FLAGS and RUN_FLAGS are word lists
$ENGINE build ${BUILD_FLAGS:-} "${build_args[@]}" -t "$IMAGE" .

echo "== train the fixture model inside the image, then tag a copy's weights mps"
mkdir -p "$WORK/models" "$WORK/state"
chmod 777 "$WORK/models" "$WORK/state"
$ENGINE run ${RUN_FLAGS:-} --rm -v "$WORK/models:/app/models" -v "$REPO/data_fixtures:/app/data:ro" "$IMAGE" \
    vbt train /app/data/strategies/rsi_bbands_mtf.yaml --data-dir /app/data --symbol EURUSD \
    --out-dir /app/models --json >/dev/null
cp -r "$WORK/models/rsi_bbands_mtf/1h_v1" "$WORK/models/from_mac"
python3 - "$WORK/models/from_mac/model.pt" <<'PY'
import sys
sys.path.insert(0, "tests/model")
from device_tags import retag_storages, storage_locations
retag_storages(sys.argv[1], "mps")
assert set(storage_locations(sys.argv[1])) == {"mps"}
PY

echo "== start the worker"
$ENGINE run ${RUN_FLAGS:-} -d --name "$NAME" -p "127.0.0.1:$PORT:5003" -e "VBT_WORKER_TOKEN=$TOKEN" \
    -v "$WORK/models:/app/models:ro" -v "$REPO/data_fixtures:/app/data:ro" \
    -v "$WORK/state:/app/state" "$IMAGE" >/dev/null
URL="http://127.0.0.1:$PORT"
for _ in $(seq 120); do curl -fs "$URL/health" >/dev/null && break; sleep 1; done
curl -fs "$URL/health"; echo
test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/operations")" = 401

echo "== the seeds' case: backtest the mps-tagged model (sent as the older backend sends it)"
AUTH="Authorization: Bearer $TOKEN"
curl -fs -H "$AUTH" -H 'content-type: application/json' -X POST "$URL/backtests/start" -d '{
  "task_id": "smoke_mps", "symbol": "EURUSD", "timeframe": "1h", "strategy_name": "rsi_bbands_mtf",
  "start_date": "2024-03-01", "end_date": "2024-06-30", "initial_capital": 100000.0,
  "commission": 0.001, "slippage": 0.0005,
  "model_path": "/Users/someone/.ktrdr/shared/models/from_mac", "timeframes": []}'
echo
for _ in $(seq 300); do
    status=$(curl -fs -H "$AUTH" "$URL/api/v1/operations/smoke_mps" | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["data"]["status"])')
    case $status in completed|failed|cancelled) break ;; esac
    sleep 1
done
curl -fs -H "$AUTH" "$URL/api/v1/operations/smoke_mps" > "$WORK/op.json"
$ENGINE exec "$NAME" vbt backtest /app/models/rsi_bbands_mtf/1h_v1 --data-dir /app/data \
    --symbol EURUSD --start-date 2024-03-01 --end-date 2024-06-30 --json > "$WORK/cli.json"
python3 - "$WORK/op.json" "$WORK/cli.json" <<'PY'
import json, sys
op = json.load(open(sys.argv[1]))["data"]
cli = json.load(open(sys.argv[2]))
assert op["status"] == "completed", (op["status"], op["error_message"])
got, want = op["result_summary"]["metrics"], cli["metrics"]
assert got == want, {k: (got[k], want[k]) for k in got if got[k] != want.get(k)}
print(f"smoke: OK: mps-tagged model backtested in the CPU image; {want['total_trades']} trades, "
      f"total_return {want['total_return']:.2f}, sharpe {want['sharpe_ratio']:.3f}, "
      "metrics equal to the CLI run of the cpu-tagged weights")
PY
