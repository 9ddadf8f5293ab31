#!/bin/sh
# Installs Debian's Chromium for the browser test. Playwright's own browser download needs a
# host this project must not depend on, so the test drives the distribution's build instead.
set -e
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "Chromium is missing and this user cannot install it: the browser test will be skipped." >&2
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
else
  echo "No apt-get here: install Chromium yourself for the browser test." >&2
fi
