#!/usr/bin/env bash
# Build the worker image with docker or podman, start it, check its HEALTHCHECK, send it the seeds'
# case (a model whose weights are tagged `mps`, as saved on an Apple-silicon machine) and check the
# metrics against a CLI backtest of the same weights, tagged cpu, inside the same image. Each step
# is printed; the first one that fails stops the script with its name (exit 1).
#
#   scripts/docker_smoke.sh                      # docker if its daemon answers, else podman
#
# Environment (README "In Docker" has the podman command for a sandboxed machine):
#   ENGINE       the engine command with its global flags ("podman --runtime runc ...")
#   BUILD_FLAGS  extra build flags; podman always builds with --format docker (keeps HEALTHCHECK)
#   RUN_FLAGS    extra run flags (e.g. --ulimit nofile=4096:4096)
#   BASE_IMAGE, TORCH_INDEX_URL, TORCH_WHEELS, INDEX_URL: the Dockerfile's build arguments
#   IMAGE (vbt-worker:smoke), PORT (15003), KEEP=1 keeps the container and the temp folder
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

STEP="start"
step() { STEP=$1; echo "== $1"; }
trap 'echo "docker_smoke: FAILED at step: $STEP" >&2' ERR

ENGINE=${ENGINE:-$(scripts/engine.sh)}
export ENGINE
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

# shellcheck disable=SC2206,SC2086  # ENGINE and RUN_FLAGS are word lists
run_flags=(${RUN_FLAGS:-})

step "build $IMAGE"
scripts/build_image.sh "$IMAGE"

step "train the fixture model inside the image"
mkdir -p "$WORK/models" "$WORK/state"
chmod 777 "$WORK/models" "$WORK/state"
$ENGINE run "${run_flags[@]}" --rm -v "$WORK/models:/app/models" -v "$REPO/data_fixtures:/app/data:ro" \
    "$IMAGE" vbt train /app/data/strategies/rsi_bbands_mtf.yaml --data-dir /app/data \
    --symbol EURUSD --out-dir /app/models --json >/dev/null
test -f "$WORK/models/rsi_bbands_mtf/1h_v1/model.pt"

step "tag a copy's weights mps, as a model saved on Apple silicon (inside the image: no host torch)"
cp -r "$WORK/models/rsi_bbands_mtf/1h_v1" "$WORK/models/from_mac"
chmod -R a+rwX "$WORK/models"
$ENGINE run "${run_flags[@]}" --rm -v "$WORK/models:/app/models" -v "$REPO/tests/model:/tests:ro" \
    "$IMAGE" python -c '
import sys
sys.path.insert(0, "/tests")
from device_tags import retag_storages, storage_locations
retag_storages("/app/models/from_mac/model.pt", "mps")
assert set(storage_locations("/app/models/from_mac/model.pt")) == {"mps"}
print("weights tagged", storage_locations("/app/models/from_mac/model.pt")[0])'

step "start the worker"
$ENGINE run "${run_flags[@]}" -d --name "$NAME" -p "127.0.0.1:$PORT:5003" -e "VBT_WORKER_TOKEN=$TOKEN" \
    -v "$WORK/models:/app/models:ro" -v "$REPO/data_fixtures:/app/data:ro" \
    -v "$WORK/state:/app/state" "$IMAGE" >/dev/null
URL="http://127.0.0.1:$PORT"
for _ in $(seq 120); do curl -fs "$URL/health" >/dev/null && break; sleep 1; done
curl -fsS "$URL/health"; echo
test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/operations")" = 401

step "the image's HEALTHCHECK passes"
case $ENGINE in
    podman*) $ENGINE healthcheck run "$NAME" && echo "healthcheck: healthy" ;;
    *)  for _ in $(seq 60); do
            health=$($ENGINE inspect --format '{{.State.Health.Status}}' "$NAME")
            [ "$health" = healthy ] && break; sleep 2
        done
        echo "healthcheck: $health"; test "$health" = healthy ;;
esac

step "the seeds' case: backtest the mps-tagged model (sent as the older backend sends it)"
AUTH="Authorization: Bearer $TOKEN"
curl -fsS -H "$AUTH" -H 'content-type: application/json' -X POST "$URL/backtests/start" -d '{
  "task_id": "smoke_mps", "symbol": "EURUSD", "timeframe": "1h", "strategy_name": "rsi_bbands_mtf",
  "start_date": "2024-03-01", "end_date": "2024-06-30", "initial_capital": 100000.0,
  "commission": 0.001, "slippage": 0.0005,
  "model_path": "/Users/someone/.ktrdr/shared/models/from_mac", "timeframes": []}'
echo
for _ in $(seq 300); do
    status=$(curl -fsS -H "$AUTH" "$URL/api/v1/operations/smoke_mps" | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["data"]["status"])')
    case $status in completed|failed|cancelled) break ;; esac
    sleep 1
done
curl -fsS -H "$AUTH" "$URL/api/v1/operations/smoke_mps/results" > "$WORK/op.json"
curl -fsS -H "$AUTH" "$URL/api/v1/operations/smoke_mps" > "$WORK/status.json"

step "compare with a CLI backtest of the cpu-tagged weights in the same image"
$ENGINE exec "$NAME" vbt backtest /app/models/rsi_bbands_mtf/1h_v1 --data-dir /app/data \
    --symbol EURUSD --start-date 2024-03-01 --end-date 2024-06-30 --json > "$WORK/cli.json"
python3 - "$WORK/status.json" "$WORK/op.json" "$WORK/cli.json" <<'PY'
import json, sys
status = json.load(open(sys.argv[1]))["data"]
assert status["status"] == "completed", (status["status"], status["error_message"])
results = json.load(open(sys.argv[2]))["data"]
cli = json.load(open(sys.argv[3]))
# the worker shows the older view (README "Result summary"): every metric a number, the ones
# vbt leaves undefined (null in its own JSON) named in undefined_metrics
got, want, undefined = results["metrics"], cli["metrics"], set(results["undefined_metrics"])
assert {k for k, v in want.items() if v is None} <= undefined, undefined
diff = {k: (got.get(k), v) for k, v in want.items() if v is not None and got.get(k) != v}
assert not diff, diff
print(f"smoke: OK: mps-tagged model backtested in the CPU image; {want['total_trades']} trades, "
      f"total_return {want['total_return']:.2f}, sharpe {want['sharpe_ratio']:.3f}, "
      "metrics equal to the CLI run of the cpu-tagged weights")
PY
