"""Hostile batch specs: a job's constraint is checked by the sweep grammar (refused at once,
naming the job), division by zero names the job and the combination, and a bad value in the
defaults names the first job it reaches."""

from __future__ import annotations

import time

import pytest

import vbt
from vbt.batches.spec import plan_batch


def spec(models, data_dir, **job) -> dict:
    return {"defaults": {"data_dir": str(data_dir), "model": str(models["a"])},
            "jobs": [{"config": {"commission": 0.001}}, {"grid": {"commission": [0.0, 0.001]},
                                                          **job}]}  # fmt: skip


def refused(s: dict, message: str) -> str:
    t = time.perf_counter()
    with pytest.raises(vbt.ConfigError) as err:
        plan_batch(s)
    assert time.perf_counter() - t < 5
    text = str(err.value)
    assert message in text and "\n" not in text, text
    return text


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        (
            "9**9**9**9",
            "jobs[1].sweep.constraint '9**9**9**9': the exponent of ** must be a number",
        ),
        ("-" * 900 + "commission", "jobs[1].sweep.constraint '---"),
        ("1/0 > 0", "jobs[1].sweep.constraint '1/0 > 0': division by zero at combination 0"),
        (
            "slippage / commission > 1",
            "division by zero at combination 0 (commission = 0.0, slippage = 0.0005)",
        ),  # fmt: skip
        ("commission > 1", "jobs[1].sweep.constraint: no combination of the grid satisfies it"),
        ("open('x')", "jobs[1].sweep.constraint \"open('x')\": Call is not allowed"),
    ],
)
def test_a_jobs_constraint_is_refused_naming_the_job(models, data_dir, constraint, message):
    refused(spec(models, data_dir, sweep={"constraint": constraint}), message)


def test_a_constraint_in_the_defaults_names_the_first_job_it_reaches(models, data_dir):
    s = spec(models, data_dir, sweep={"top": 3})
    s["defaults"]["sweep"] = {"constraint": "2 ** commission > 1"}
    s["jobs"][0]["grid"] = {"slippage": [0.0]}
    s["jobs"][0]["sweep"] = {"constraint": "slippage >= 0"}  # job 0 sets its own
    text = refused(s, "jobs[1].sweep.constraint '2 ** commission > 1': the exponent of **")
    assert text.endswith("(set in defaults)")


def test_a_bad_default_names_the_first_job_it_reaches(models, data_dir):
    s = spec(models, data_dir)
    s["defaults"]["config"] = {"slippage": -1}
    s["jobs"][0]["config"]["slippage"] = 0.0  # job 0 overrides it: job 1 is the first it reaches
    refused(s, "jobs[1].config.slippage = -1: input should be greater than or equal to 0 "
            "(set in defaults)")  # fmt: skip
    s["jobs"][1]["config"] = {"slippage": 0.0}  # reaching no job, it stops nothing
    assert len(plan_batch(s).jobs) == 2
    s["defaults"]["grid"] = {"max_holding_bars": "1:3:0.5"}  # job 1 has its own grid
    refused(s, "jobs[0].grid.max_holding_bars = 1.5: not a whole number of bars (set in defaults)")


def test_a_whole_number_range_of_bars_plans(models, data_dir):
    s = spec(models, data_dir)
    s["jobs"][1]["grid"] = {"max_holding_bars": "1:5:1"}
    s["jobs"][1]["sweep"] = {"constraint": "max_holding_bars % 2 == 1", "seed": 2**64 - 1}
    assert len(plan_batch(s).jobs) == 2
    s["jobs"][1]["sweep"]["seed"] = 2**64
    refused(s, "jobs[1].sweep.seed = 18446744073709551616: input should be less than or equal")
    s["jobs"][1]["sweep"] = {"constraint": "commission > 0 or " * 60 + "True"}
    refused(s, "characters; at most 1,000")  # its message: not the pydantic one with the text
