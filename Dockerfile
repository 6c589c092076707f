# vbt worker: a CPU-only image serving backtests and sweeps over the older worker API on port 5003.
# README "In Docker" has the build and run commands (docker, or podman from Debian's packages).
#
# Build arguments:
#   BASE_IMAGE       a Python 3.11 image with python3, its venv module, useradd (python:3.11-slim)
#   TORCH_INDEX_URL  PyTorch's CPU wheel index; empty: torch only from TORCH_WHEELS
#   TORCH_WHEELS     a folder of wheels in the build context (docker/wheels, empty; e.g. .whl)
#   INDEX_URL        the package index for everything else; empty: only TORCH_WHEELS
#   VBT_EXTRAS       optional extras: "ray" makes the image a Ray cluster's worker image too
# Every package is installed at the exact version and hash of lock/runtime.txt (torch 2.13.0+cpu:
# no CUDA build can match); the ray extra at the versions of lock/dev.txt.
ARG BASE_IMAGE=python:3.11-slim

# ---- build: the virtual environment at /opt/vbt, trimmed of what the worker never runs --------
FROM ${BASE_IMAGE} AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_WHEELS=docker/wheels
ARG INDEX_URL=https://pypi.org/simple
ARG VBT_EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# binutils (strip) in this stage only: the big native libraries ship their symbol tables.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY ${TORCH_WHEELS} /tmp/wheels/
COPY lock/runtime.txt lock/dev.txt ./lock/
COPY pyproject.toml README.md ./
COPY vbt ./vbt
# Word splitting of the pip command and its sources is intended.
# hadolint ignore=SC2086
RUN set -eu; \
    python3 -m venv /opt/vbt; \
    pip="/opt/vbt/bin/python -m pip"; \
    sources="--find-links /tmp/wheels"; \
    if [ -n "${INDEX_URL}" ]; then sources="${sources} --index-url ${INDEX_URL}"; \
    else sources="${sources} --no-index"; fi; \
    if [ -n "${TORCH_INDEX_URL}" ]; then sources="${sources} --extra-index-url ${TORCH_INDEX_URL}"; fi; \
    $pip install ${sources} --require-hashes -r lock/runtime.txt; \
    $pip install --no-index --no-deps --no-build-isolation .; \
    if [ -n "${VBT_EXTRAS}" ]; then \
        sed -e '/--hash=/d' -e 's/ \\$//' lock/dev.txt > /tmp/pins.txt; \
        $pip install ${sources} -c /tmp/pins.txt ".[${VBT_EXTRAS}]"; \
    fi; \
    /opt/vbt/bin/python -c "import torch; assert not torch.version.cuda, 'a CUDA torch was installed'"; \
    $pip uninstall -q -y pip setuptools wheel; \
    site=$(/opt/vbt/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"); \
    rm -rf "${site}/torch/include" "${site}/torch/share" "${site}/torch/test" \
        "${site}/pyarrow/include" "${site}/pyarrow/tests" "${site}/numba/tests" \
        "${site}/numpy/_core/tests" "${site}/numpy/tests" "${site}/llvmlite/tests"; \
    find "${site}/torch/bin" -type f ! -name torch_shm_manager -delete; \
    find "${site}/pyarrow" \( -name '*.a' -o -name '*flight*' \) -delete; \
    strip --strip-unneeded "${site}/torch/lib/libtorch_cpu.so" "${site}/torch/lib/libtorch_python.so" \
        "${site}/llvmlite/binding/libllvmlite.so" "${site}/pyarrow/libarrow.so."* \
        "${site}/_polars_runtime_32/_polars_runtime.abi3.so"; \
    /opt/vbt/bin/python -c "import torch, polars, numba, pyarrow.parquet, vbt.worker.app"

# ---- the worker: the base, a user, the environment, the Numba cache -----------------------------
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/vbt/bin:$PATH \
    NUMBA_CACHE_DIR=/home/vbt/numba-cache
RUN groupadd --system --gid 10001 vbt \
    && useradd --system --uid 10001 --gid vbt --create-home --home-dir /home/vbt vbt \
    && mkdir -p /app/models /app/data /app/state \
    && chown vbt:vbt /app/state
COPY --from=build /opt/vbt /opt/vbt

WORKDIR /app
USER 10001:10001
# Compile every Numba kernel now, as the user that runs the worker, into a folder it owns; then
# check that a fresh process loads each one from that cache instead of compiling it.
RUN mkdir -p "${NUMBA_CACHE_DIR}" \
    && python -m vbt.warmup \
    && python -m vbt.worker.numba_cache

EXPOSE 5003
VOLUME ["/app/state"]
# HEALTHCHECK is kept only in the Docker image format: podman builds it with --format docker.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5003/health', timeout=4)"]
# Bound beyond loopback, the worker refuses to start without VBT_WORKER_TOKEN (16+ characters),
# and then requires it on every endpoint but /health.
CMD ["vbt", "worker", "--host", "0.0.0.0", "--port", "5003", "--models-root", "/app/models", \
     "--data-root", "/app/data", "--state-dir", "/app/state"]
