#!/usr/bin/env bash
# Install Debian's Chromium (and CJK fonts for screenshots) for the browser tests, and curl for the API's
# quick start as written (tests/api/test_quick_start.py), when missing.
# Never `playwright install`: the Python package drives /usr/bin/chromium.
set -eu
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing+=(fonts-wqy-zenhei)
command -v curl >/dev/null || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing ${missing[*]} from Debian"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" fontconfig >/dev/null
