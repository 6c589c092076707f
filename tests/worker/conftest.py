"""Session fixtures of the worker tests: the models root (trained once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from workerkit import DATA

import vbt


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    """A models root: rsi_single_tf trained on the fixtures (confidence threshold 0, so that it
    trades), and a copy whose weights are tagged ``mps`` (as saved on an Apple-silicon machine:
    the seeds' case)."""
    import yaml

    from tests.model.device_tags import retag_storages, storage_locations

    root = tmp_path_factory.mktemp("models")
    raw = yaml.safe_load((DATA / "strategies" / "rsi_single_tf.yaml").read_text())
    # confidence 0: a weak fixture model trades whatever its top class (at 0.5 it may never)
    raw["decisions"]["confidence_threshold"] = 0.0
    raw["training"]["epochs"] = 5
    trained = Path(vbt.train(raw, data_dir=DATA, symbol="EURUSD", out_dir=root, progress=False))
    mps = root / "from_mac" / "rsi_single_tf_mps"
    shutil.copytree(trained, mps)
    retag_storages(mps / "model.pt", "mps")
    assert set(storage_locations(mps / "model.pt")) == {"mps"}
    return root


@pytest.fixture(scope="module")
def client(worker):
    """An HTTP client of the module's ``worker`` fixture (with its token, if any)."""
    with worker.client() as c:
        yield c
