#!/usr/bin/env bash
# The container engine to use: docker if its daemon answers, else podman; fails with one line.
if docker info >/dev/null 2>&1; then echo docker
elif command -v podman >/dev/null; then echo podman
else echo "neither a docker daemon nor podman: install one (README \"In Docker\")" >&2; exit 2; fi
