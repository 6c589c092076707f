"""Property-based fuzzing of every endpoint from the worker's own OpenAPI schema (schemathesis on
hypothesis): valid and deliberately invalid requests alike, and not one 5xx answer nor a response
that is not JSON. Schemathesis draws only finite numbers (its float strategies exclude NaN and
infinity, and no option changes that), so a second test puts NaN, ±Infinity, numbers beyond a
float (1e400) and numbers as strings into every number field of every body schema. The sweep
constraint is a plain string to the schema, so a third pair of runs puts expressions of the
constraint grammar (within it, beyond its limits, hostile) into schemathesis' sweep bodies and
into batch specs."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from workerkit import Worker, body

from tests.sweeps.sweep_strategies import constraints
from vbt.errors import ConfigError
from vbt.sweeps.grid import parse_constraint

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
        ctype = response.headers.get("content-type") or ""  # schemathesis: a list of values
        if "application/json" in (ctype if isinstance(ctype, str) else ",".join(ctype)):
            strict_json(response.text)

    fuzz()
    # every endpoint was driven (an endpoint without parameters has no invalid request)
    plain = {"GET /health", "GET /", "GET /metrics"}
    want = operations if mode == GenerationMode.POSITIVE else operations - plain
    assert {label for label, _ in seen} == want
    assert sum(seen.values()) >= 100


def strict_json(text: str) -> Any:
    """``text`` parsed as JSON proper: NaN and ±Infinity are not JSON."""

    def refuse(name: str):
        raise AssertionError(f"{name} in a response: not JSON: {text[:300]}")

    return json.loads(text, parse_constant=refuse)


def number_fields(schema: dict, components: dict, path: tuple = ()) -> list[tuple[tuple, dict]]:
    """Every place of a JSON body schema where a number goes: (path, its schema). A path holds
    property names, 0 for an array's item, and a key the schema allows for a mapping's value."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    found = []
    for alternative in (*schema.get("anyOf", ()), *schema.get("oneOf", ()),
                        *schema.get("allOf", ())):  # fmt: skip
        found += number_fields(alternative, components, path)
    if schema.get("type") in ("number", "integer"):
        found.append((path, schema))
    for name, sub in schema.get("properties", {}).items():
        found += number_fields(sub, components, (*path, name))
    if isinstance(schema.get("additionalProperties"), dict):
        key = (schema.get("propertyNames", {}).get("enum") or ["x"])[0]
        found += number_fields(schema["additionalProperties"], components, (*path, key))
    if isinstance(schema.get("items"), dict):
        found += number_fields(schema["items"], components, (*path, 0))
    return found


def nest(path: tuple, leaf: Any) -> Any:
    """A body holding ``leaf`` at ``path`` and nothing else."""
    if not path:
        return leaf
    inner = nest(path[1:], leaf)
    return [inner] if isinstance(path[0], int) else {path[0]: inner}


def names(path: tuple, detail: list[dict]) -> bool:
    """Whether an error of ``detail`` names ``path``: its parts appear in the error's ``loc``, in
    order (unions add the alternative's name between them)."""
    want = [str(p) for p in path]
    for error in detail:
        loc = iter(str(x) for x in error.get("loc", ()))
        if all(part in loc for part in want):
            return True
    return False


def finite(schema: dict) -> float | int:
    """A number the field accepts on its own (its lower bound, or just above it; else 0)."""
    if "minimum" in schema:
        value = schema["minimum"]
    elif "exclusiveMinimum" in schema:
        value = schema["exclusiveMinimum"] + 1
    else:
        value = 0
    return int(value) if schema.get("type") == "integer" else float(value)


SENTINEL = "__not_a_number__"
#: what is not a JSON number: NaN and ±Infinity (Python's json reads them), numbers beyond a
#: float (1e400 reads as inf), and numbers written as strings
NOT_NUMBERS = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity"]),
    st.integers(309, 100_000).map(lambda e: f"1e{e}"),
    st.integers(309, 100_000).map(lambda e: f"-9.5e{e}"),
    st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=False, allow_infinity=False)).map(
        lambda x: json.dumps(str(x))
    ),
)


def test_non_finite_and_string_numbers_are_a_422_naming_the_field(worker):
    doc = httpx.get(f"{worker.url}/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    components = doc.json()["components"]["schemas"]
    cases: list[tuple[str, str, tuple, dict]] = []
    for route, operations in doc.json()["paths"].items():
        for method, op in operations.items():
            content = op.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            fields = dict(number_fields(schema, components)) if schema else {}
            cases += [(method.upper(), route, path, s) for path, s in fields.items()]
    labels = {f"{m} {r} {'.'.join(map(str, p))}" for m, r, p, _ in cases}
    assert {"POST /backtests/start initial_capital", "POST /backtests/start commission",
            "POST /backtests/start slippage", "POST /sweeps/start grid.x.0",
            "POST /sweeps/start grid.x.start", "POST /sweeps/start seed",
            "POST /sweeps/start max_combos", "POST /batches/start jobs"} <= labels  # fmt: skip
    seen: set[int] = set()
    with worker.client() as client:

        def post(method: str, route: str, text: str) -> httpx.Response:
            headers = {"content-type": "application/json"}
            return client.request(method, route, content=text, headers=headers)

        # each place takes a finite number: an error there would name it for the wrong reason
        for method, route, path, schema in cases:
            r = post(method, route, json.dumps(nest(path, finite(schema))))
            assert r.status_code < 500, r.text
            if r.status_code == 422:
                assert not names(path, strict_json(r.text)["detail"]), (route, path, r.text)

        @settings(max_examples=max(300, 30 * len(cases)), deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(i=st.sampled_from(range(len(cases))), bad=NOT_NUMBERS)
        def inject(i: int, bad: str):
            method, route, path, _ = cases[i]
            text = json.dumps(nest(path, SENTINEL)).replace(json.dumps(SENTINEL), bad)
            r = post(method, route, text)
            assert r.status_code == 422, (route, text, r.text)
            assert names(path, strict_json(r.text)["detail"]), (route, text, r.text)
            seen.add(i)

        inject()
    assert seen == set(range(len(cases)))  # every number field of every body


# -- the constraint grammar ---------------------------------------------------------------------

#: a grid every start body may carry, so that the constraint is what is judged
GRID = {"commission": [0.0, 0.001], "slippage": [0.0, 0.0005]}


def outside_the_grammar(text: str) -> bool:
    try:
        parse_constraint(text)
    except ConfigError:
        return True
    return False


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_sweeps_with_constraints_of_the_grammar_never_get_a_server_error(worker, mode):
    """Schemathesis' bodies of ``POST /sweeps/start`` with the constraint (and half the time a
    valid grid) replaced by expressions of the constraint grammar, beyond its limits, or
    hostile (``tests/sim/sweep_strategies.py``): never a 5xx, never slow; a constraint outside
    the grammar is a 422 naming ``constraint`` whenever the rest of the body is valid."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    schema = schemathesis.openapi.from_url(f"{worker.url}/openapi.json", headers=auth)
    operation = schema["/sweeps/start"]["POST"]
    seen: Counter = Counter()

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode), constraint=constraints,
           valid_run=st.booleans())  # fmt: skip
    def fuzz(case, constraint, valid_run):
        if not isinstance(case.body, dict):
            return
        if valid_run:  # the fixture's run and a valid grid: the constraint is what is judged
            case.body.update({k: v for k, v in body().items() if k in case.body or v is not None},
                             grid=GRID, by="sharpe_ratio")  # fmt: skip
            case.body.pop("data_dir", None)  # the default: the data root
        case.body["constraint"] = constraint
        t = time.perf_counter()
        response = case.call(base_url=worker.url, headers=auth, timeout=60)
        assert time.perf_counter() - t < 30, constraint
        assert response.status_code < 500, (case.body, response.text)
        seen[response.status_code] += 1
        if response.status_code == 200:
            assert not outside_the_grammar(constraint), constraint
        detail = strict_json(response.text).get("detail") if response.status_code == 422 else None
        if detail and any(d.get("loc") == ["body", "constraint"] for d in detail):
            assert outside_the_grammar(constraint), detail
            seen["constraint"] += 1

    fuzz()
    if mode == GenerationMode.POSITIVE:  # the grammar was judged, and some sweeps started
        assert seen["constraint"] >= 10 and seen[200] >= 1, seen


def test_batches_with_constraints_of_the_grammar_never_get_a_server_error(worker):
    """The same constraints in a batch spec's sweep: 200, or 422 naming the job's constraint
    when it is outside the grammar (or divides by zero, or keeps nothing)."""
    seen: Counter = Counter()
    with worker.client() as client:

        @settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(constraint=constraints, where=st.sampled_from(["job", "defaults"]))
        def fuzz(constraint, where):
            sweep = {"sweep": {"constraint": constraint}}
            spec = {"defaults": {"model": "rsi_single_tf/1h_latest", "symbol": "EURUSD",
                                 "start_date": "2024-03-01", "end_date": "2024-03-10",
                                 **(sweep if where == "defaults" else {})},
                    "jobs": [{"grid": GRID, **(sweep if where == "job" else {})}]}  # fmt: skip
            t = time.perf_counter()
            r = client.post("/batches/start", json={"spec": spec})
            assert time.perf_counter() - t < 30, constraint
            assert r.status_code in (200, 422), r.text
            seen[r.status_code] += 1
            if r.status_code == 422:
                [detail] = strict_json(r.text)["detail"]
                assert detail["loc"] == ["body", "spec"], detail
                assert detail["msg"].startswith("jobs[0].sweep.constraint"), detail
                assert (where == "defaults") == detail["msg"].endswith("(set in defaults)")
            else:
                assert not outside_the_grammar(constraint), constraint

        fuzz()
    assert seen[200] and seen[422], seen
