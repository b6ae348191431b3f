#!/usr/bin/env bash
# Interop: the official Python SDK (installed from PyPI into a throwaway venv) talks to
# the emulator over plain HTTP on 127.0.0.1. Nobody here wrote that client, so this
# checks the emulator against the protocol rather than against our own reading of it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="${INTEROP_VENV:-$root/target/interop-venv}"
sdk_version="3.1.175"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "tencentcloud-sdk-python-cbs==$sdk_version"

cargo build --quiet -p cbs-emulator
log=$(mktemp)
"$root/target/debug/cbs-emulator" --seed-demo --credential AKIDinterop0000000000000000000000000:interop-secret-key --copy-duration 2 --create-duration 1 >"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT

endpoint=""
for _ in $(seq 1 100); do
  endpoint=$(sed -n 's#^listening on http://##p' "$log" | head -n 1)
  [ -n "$endpoint" ] && break
  sleep 0.1
done
if [ -z "$endpoint" ]; then
  echo "the emulator did not start" >&2
  exit 1
fi
"$venv/bin/python" "$root/tests/interop/check_cbs.py" "$endpoint"
