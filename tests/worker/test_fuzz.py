"""Property-based fuzzing of every endpoint from the worker's own OpenAPI schema (schemathesis on
hypothesis): valid and deliberately invalid requests alike, and not one 5xx answer."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from workerkit import Worker

TOKEN = "fuzz-token-0123456789abcdef"


@pytest.fixture(scope="module")
def worker(models_root, tmp_path_factory):
    # a queue large enough never to fill: 503 (queue full) is the one designed 5xx
    with Worker(models_root, tmp_path_factory.mktemp("fuzz") / "state", "--max-queue", "100000",
               token=TOKEN) as w:  # fmt: skip
        yield w


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_produces_a_server_error(worker, mode):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    schema = schemathesis.openapi.from_url(f"{worker.url}/openapi.json", headers=auth)
    operations = {f"{op.ok().method.upper()} {op.ok().path}" for op in schema.get_all_operations()}
    assert {"POST /backtests/start", "POST /backtests/resume", "POST /sweeps/start",
            "GET /api/v1/operations/{operation_id}", "GET /api/v1/operations",
            "DELETE /api/v1/operations/{operation_id}/cancel", "GET /health",
            "GET /metrics"} <= operations  # fmt: skip
    seen: Counter = Counter()

    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=schema.as_strategy(generation_mode=mode))
    def fuzz(case):
        response = case.call(base_url=worker.url, headers=auth, timeout=30)
        seen[(case.operation.label, response.status_code)] += 1
        assert response.status_code < 500, (case.operation.label, case.body, case.query,
                                            case.path_parameters, response.text)  # fmt: skip

    fuzz()
    # every endpoint was driven (an endpoint without parameters has no invalid request)
    plain = {"GET /health", "GET /", "GET /metrics"}
    want = operations if mode == GenerationMode.POSITIVE else operations - plain
    assert {label for label, _ in seen} == want
    assert sum(seen.values()) >= 100
