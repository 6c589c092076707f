#!/usr/bin/env bash
# Build the worker image (the top-level Dockerfile) with docker or podman: the build step that
# scripts/docker_smoke.sh and scripts/seed_cycle.sh share.
#
#   scripts/build_image.sh IMAGE
#
# Environment: ENGINE (the engine command with its global flags; default docker if its daemon
# answers, else podman), BUILD_FLAGS (extra build flags; podman always builds with --format
# docker, which keeps the HEALTHCHECK), and the Dockerfile's build arguments BASE_IMAGE,
# TORCH_INDEX_URL, TORCH_WHEELS, INDEX_URL (passed when set). Prints the image's size.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:?usage: scripts/build_image.sh IMAGE}
ENGINE=${ENGINE:-$(scripts/engine.sh)}
# shellcheck disable=SC2206  # BUILD_FLAGS is a word list
build_flags=(${BUILD_FLAGS:-})
case $ENGINE in podman*) build_flags+=(--format docker) ;; esac
for arg in BASE_IMAGE TORCH_INDEX_URL TORCH_WHEELS INDEX_URL; do
    if [ -n "${!arg+set}" ]; then build_flags+=(--build-arg "$arg=${!arg}"); fi
done
echo "build $IMAGE: $ENGINE build ${build_flags[*]}"
$ENGINE build "${build_flags[@]}" -t "$IMAGE" .
size=$($ENGINE image inspect --format '{{.Size}}' "$IMAGE")
echo "image $IMAGE: $((size / 1000000)) MB"
