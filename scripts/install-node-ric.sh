#!/bin/sh
# Best effort: builds AWS's Node.js runtime interface client (npm aws-lambda-ric) into .bench/,
# the reference implementation that tests/integration/test_layer_node_parity.py compares our
# bytes with and that `streamlab bench runtime` measures against. Its native addon needs a C
# toolchain and autotools; without them the parity tests are skipped, nothing fails.
PACKAGE=aws-lambda-ric@4.0.2
DIR=.bench
[ -f "$DIR/node_modules/aws-lambda-ric/index.mjs" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm not found: Node parity tests will be skipped" >&2; exit 0; }
if command -v apt-get >/dev/null 2>&1 && ! command -v autoreconf >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else SUDO=none; fi
  if [ "$SUDO" != none ]; then
    $SUDO apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      autoconf automake libtool libcurl4-openssl-dev cmake g++ make >/dev/null 2>&1
  fi
fi
echo "building $PACKAGE into $DIR (native addon, about a minute, once) ..." >&2
if ! npm install --silent --no-audit --no-fund --prefix "$DIR" "$PACKAGE" >"$DIR.log" 2>&1; then
  echo "building $PACKAGE failed (see $DIR.log): Node parity tests will be skipped" >&2
fi
exit 0
