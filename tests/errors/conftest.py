"""Fixtures for the bad-input tests (helpers: ``bad_input.py``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bad_input import DATA, write_model


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A loadable rsi_single_tf model directory (do not modify: copy it with ``model_copy``)."""
    return write_model(tmp_path_factory.mktemp("models"))


@pytest.fixture
def model_copy(model_dir, tmp_path) -> Path:
    """A private copy of ``model_dir`` that a test may break."""
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


@pytest.fixture
def hourly_dir(tmp_path) -> Path:
    """A data folder holding only EURUSD_1h.parquet (a copy of the fixture)."""
    d = tmp_path / "data"
    d.mkdir()
    shutil.copy(DATA / "EURUSD_1h.parquet", d / "EURUSD_1h.parquet")
    return d
