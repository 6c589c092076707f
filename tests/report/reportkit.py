"""Helpers of the report tests (a module name of its own: every test folder has a conftest):
the paths, a fast model (untrained, seeded, its output bias centred on the fixture bars so that
it gives BUY, HOLD and SELL) and the run config. Screenshots go to ``out/report/``."""

from __future__ import annotations

from pathlib import Path

import vbt

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data_fixtures"
SCREENS = ROOT / "out" / "report"


def centred_model(out: Path, bars_1h) -> Path:
    """rsi_single_tf with an untrained MLP, its last layer scaled up (so that confidences spread
    well above 1/3) and its output bias moved so that its mean logit on ``bars_1h`` is zero for
    every class (a raw network tends to favour one class)."""
    import torch

    from vbt.model.artifacts import write_model_dir
    from vbt.model.networks import build_model
    from vbt.strategy import resolve_features

    s = vbt.load_strategy(DATA / "strategies" / "rsi_single_tf.yaml")
    names = resolve_features(s)
    torch.manual_seed(0)
    net = build_model(dict(s.model), len(names), s.output_type).eval()
    frame = vbt.build_features(s, {"1h": bars_1h}, feature_names=names)
    with torch.no_grad():
        net[-1].weight *= 40.0
        net[-1].bias -= net(torch.from_numpy(frame.values[frame.valid])).mean(dim=0)
    return Path(write_model_dir(
        out, net, strategy_name=s.name, raw_config=s.raw, resolved_features=names,
        training_symbols=["EURUSD"], training_timeframes=["1h"], output_type=s.output_type,
        model_type="mlp", metrics={},
    ))  # fmt: skip


def config(model_dir, **kw) -> vbt.BacktestConfig:
    return vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(DATA), **kw)


def run(capsys, *argv) -> tuple[int, str, str]:
    """``vbt`` with ``argv`` in this process -> (exit status, stdout, stderr)."""
    from vbt.cli import main

    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(capsys, argv: list[str], fill: dict, message: str, folder: Path) -> None:
    """``vbt argv`` (each formatted with ``fill``) exits 2 with one ``error:`` line holding
    ``message`` (formatted too), prints nothing on stdout and writes nothing under ``folder``."""
    before = sorted(p.name for p in folder.rglob("*"))
    rc, out, err = run(capsys, *[a.format(**fill) for a in argv])
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message.format(**fill) in lines[0]
    assert sorted(p.name for p in folder.rglob("*")) == before  # nothing written
