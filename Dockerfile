# vbt worker: a CPU-only image serving backtests and sweeps over the older worker API on port 5003.
#
#   docker build -t vbt-worker .
#   docker run -p 127.0.0.1:5003:5003 -e VBT_WORKER_TOKEN=<16+ chars> \
#       -v /path/models:/app/models:ro -v /path/data:/app/data:ro -v vbt-state:/app/state vbt-worker
#
# Build arguments: BASE_IMAGE (a Python 3.11 image with python3 and its venv module), TORCH_INDEX_URL
# (the CPU torch wheel index; empty = torch only from TORCH_WHEELS), TORCH_WHEELS (a folder of wheels
# in the build context, e.g. .whl), PIP_INDEX_URL (the other packages; empty = only TORCH_WHEELS),
# VBT_EXTRAS (optional extras: "ray" makes the image a Ray cluster's worker image too, README
# "Scale-out").
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_WHEELS=docker/wheels
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG VBT_EXTRAS=""

SHELL ["/bin/sh", "-eu", "-c"]
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/vbt/bin:$PATH \
    NUMBA_CACHE_DIR=/home/vbt/numba-cache

RUN groupadd --system --gid 10001 vbt \
    && useradd --system --uid 10001 --gid vbt --create-home --home-dir /home/vbt vbt \
    && mkdir -p /app/models /app/data /app/state \
    && chown vbt:vbt /app/state \
    && python3 -m venv /opt/vbt

WORKDIR /src
COPY ${TORCH_WHEELS} /tmp/wheels/
COPY pyproject.toml README.md constraints.txt ./
COPY vbt ./vbt

# torch first, pinned to its CPU build (the local version +cpu, so no CUDA build can match), from
# the wheel folder or the CPU wheel index; then vbt as a package (not editable), constraints.txt
# holding torch where it is. PIP_INDEX_URL empty: nothing but the wheel folder.
RUN pypi="${PIP_INDEX_URL}"; unset PIP_INDEX_URL; \
    if [ -n "${pypi}" ]; then export PIP_INDEX_URL="${pypi}"; else export PIP_NO_INDEX=1; fi; \
    if [ -n "${TORCH_INDEX_URL}" ]; then export PIP_EXTRA_INDEX_URL="${TORCH_INDEX_URL}"; fi; \
    pip install --no-cache-dir --find-links /tmp/wheels "torch==${TORCH_VERSION}+cpu"; \
    unset PIP_EXTRA_INDEX_URL; \
    target="."; if [ -n "${VBT_EXTRAS}" ]; then target=".[${VBT_EXTRAS}]"; fi; \
    pip install --no-cache-dir --find-links /tmp/wheels -c constraints.txt "${target}"; \
    python -c "import torch; assert not torch.version.cuda, 'a CUDA torch was installed'"; \
    rm -rf /tmp/wheels /src/*

WORKDIR /app
USER 10001:10001
# Compile every Numba kernel now, as the user that runs the worker, into a folder it owns; then
# check that a fresh process loads each one from that cache instead of compiling it.
RUN mkdir -p "${NUMBA_CACHE_DIR}" \
    && python -m vbt.warmup \
    && python -m vbt.worker.numba_cache

EXPOSE 5003
VOLUME ["/app/state"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5003/health', timeout=4)"]
# Bound beyond loopback, the worker refuses to start without VBT_WORKER_TOKEN (16+ characters),
# and then requires it on every endpoint but /health.
CMD ["vbt", "worker", "--host", "0.0.0.0", "--port", "5003", "--models-root", "/app/models", \
     "--data-root", "/app/data", "--state-dir", "/app/state"]
