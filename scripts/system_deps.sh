#!/usr/bin/env bash
# The system packages `make test` needs beyond Python: Chromium, which the report's browser test
# drives (tests/report/test_browser.py). Installs it from Debian's packages when it is missing and
# this user can (root, or sudo without a password); otherwise stops at once with one line saying
# what to run. Prints nothing when everything is there.
set -euo pipefail
CHROMIUM=${VBT_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then exit 0; fi

say() { echo "system_deps: $*" >&2; }
if ! command -v apt-get >/dev/null 2>&1; then
    say "Chromium is missing at $CHROMIUM and this system has no apt-get: install Chromium and set VBT_CHROMIUM=/path/to/chromium"
    exit 2
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    say "Chromium is missing: run 'sudo apt-get update && sudo apt-get install -y chromium', then make test again"
    exit 2
fi
say "installing Chromium from Debian's packages (apt-get install chromium)"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
[ -x "$CHROMIUM" ] || { say "apt-get installed chromium but $CHROMIUM is not there"; exit 2; }
