#!/bin/sh
# Best effort: the AWS CDK for the CDK example's test (tests/integration/test_adopt_cdk.py), into
# .bench/cdk/: aws-cdk-lib (PyPI) in a virtual environment of its own, so the dev environment
# stays small, and the cdk CLI (npm aws-cdk). `cdk synth` then runs offline. Without Node or
# without the registries the test is skipped with the reason; nothing fails.
CDK_LIB="aws-cdk-lib>=2.200,<3"
CDK_CLI=aws-cdk@2
DIR=.bench/cdk
PYTHON=${PYTHON:-python3}
[ -x "$DIR/node_modules/.bin/cdk" ] && [ -f "$DIR/venv/.installed" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm not found: the CDK example's test will be skipped" >&2; exit 0; }
mkdir -p "$DIR"
echo "installing the AWS CDK ($CDK_LIB, $CDK_CLI) into $DIR (once) ..." >&2
if [ ! -f "$DIR/venv/.installed" ]; then
  { "$PYTHON" -m venv "$DIR/venv" &&
    "$DIR/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$CDK_LIB" "constructs>=10,<11" &&
    touch "$DIR/venv/.installed"; } >"$DIR/install.log" 2>&1 ||
    { echo "installing aws-cdk-lib failed (see $DIR/install.log): the CDK test will be skipped" >&2; exit 0; }
fi
npm install --silent --no-audit --no-fund --prefix "$DIR" "$CDK_CLI" >>"$DIR/install.log" 2>&1 ||
  echo "installing the cdk CLI failed (see $DIR/install.log): the CDK test will be skipped" >&2
exit 0
