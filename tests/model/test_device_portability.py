"""The seeds' original bug: a model trained on MPS (or CUDA) must load and predict on a CPU-only box.

``retag_storages`` rewrites the location tag of every storage in ``model.pt`` to what a file saved
on that device carries. A plain ``torch.load(path, weights_only=True)`` then fails on a machine
without the device; ``ModelBundle.load`` (``map_location="cpu"``) must load it and predict exactly
what the original model predicts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from device_tags import retag_storages, storage_locations
from model_fixtures import (
    RSI_FEATURES,
    assert_outputs_equal,
    make_model_dir,
    reference_output,
    sample_input,
    sequence_length_of,
)

from vbt.model import ModelBundle

REPO = Path(__file__).resolve().parents[2]
MPS_AVAILABLE = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def test_retag_rewrites_every_storage_and_keeps_other_entries(tmp_path):
    path, model = make_model_dir(tmp_path)
    pt = path / "model.pt"
    with zipfile.ZipFile(pt) as zf:
        before = {n: zf.read(n) for n in zf.namelist()}
    n_storages = len(model.state_dict())
    assert storage_locations(pt) == ["cpu"] * n_storages

    assert retag_storages(pt, "mps") >= 1
    assert storage_locations(pt) == ["mps"] * n_storages
    with zipfile.ZipFile(pt) as zf:
        after = {n: zf.read(n) for n in zf.namelist()}
    assert list(after) == list(before)
    changed = [n for n in before if before[n] != after[n]]
    assert len(changed) == 1 and changed[0].endswith("data.pkl")

    retag_storages(pt, "cpu")  # and back: byte-identical pickle
    with zipfile.ZipFile(pt) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == before


@pytest.mark.skipif(MPS_AVAILABLE, reason="this machine has MPS, so the plain load would succeed")
@pytest.mark.parametrize("model_type", ["mlp", "lstm", "gru"])
def test_mps_tagged_model_loads_on_cpu(tmp_path, model_type):
    path, model = make_model_dir(tmp_path, model_type=model_type)
    pt = path / "model.pt"
    retag_storages(pt, "mps")
    assert set(storage_locations(pt)) == {"mps"}

    with pytest.raises(RuntimeError, match="Storage device not recognized: mps"):
        torch.load(pt, weights_only=True)  # the original bug: no map_location

    bundle = ModelBundle.load(path)
    assert all(p.device.type == "cpu" for p in bundle.model.parameters())
    x = sample_input(model_type, len(RSI_FEATURES))
    assert_outputs_equal(
        bundle.predict(x), reference_output(model, x, sequence_length_of(model_type))
    )
    for key, value in model.state_dict().items():
        assert torch.equal(bundle.model.state_dict()[key], value)


_CUDA_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import torch
    from vbt.model import ModelBundle

    model_dir, x_path, out_path = sys.argv[1:4]
    report = {"cuda_available": torch.cuda.is_available()}
    try:
        torch.load(model_dir + "/model.pt", weights_only=True)
        report["plain_load_error"] = None
    except Exception as exc:
        report["plain_load_error"] = f"{type(exc).__name__}: {exc}"
    bundle = ModelBundle.load(model_dir)
    report["devices"] = sorted({p.device.type for p in bundle.model.parameters()})
    np.save(out_path, bundle.predict(np.load(x_path)))
    print(json.dumps(report))
    """
)


@pytest.mark.parametrize("model_type", ["mlp", "lstm"])
def test_cuda_tagged_model_loads_with_cuda_hidden(tmp_path, model_type):
    path, model = make_model_dir(tmp_path / "models", model_type=model_type)
    retag_storages(path / "model.pt", "cuda:0")
    assert set(storage_locations(path / "model.pt")) == {"cuda:0"}
    x = sample_input(model_type, len(RSI_FEATURES))
    np.save(tmp_path / "x.npy", x)

    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _CUDA_SCRIPT,
            str(path),
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["cuda_available"] is False
    err = report["plain_load_error"]
    assert err is not None, "a plain torch.load of a cuda-tagged file must fail with CUDA hidden"
    assert "CUDA" in err and "torch.cuda.is_available() is False" in err
    assert report["devices"] == ["cpu"]
    y = np.load(tmp_path / "y.npy")
    assert_outputs_equal(y, reference_output(model, x, sequence_length_of(model_type)))
