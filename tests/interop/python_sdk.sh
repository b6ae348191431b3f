#!/usr/bin/env bash
# Interop: the official Python SDK (installed from PyPI into a throwaway venv) talks to
# the emulator over plain HTTP on 127.0.0.1. Nobody here wrote that client, so this
# checks the emulator against the protocol rather than against our own reading of it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/interop/common.sh"
python_env="${INTEROP_VENV:-$root/target/interop-venv}"
venv "$python_env" "tencentcloud-sdk-python-cbs==3.1.175"

cargo build --quiet -p cbs-emulator
start_emulator "${CARGO_TARGET_DIR:-$root/target}/debug/cbs-emulator" --seed-demo \
  --credential AKIDinterop0000000000000000000000000:interop-secret-key --copy-duration 2 --create-duration 1
"$python_env/bin/python" "$root/tests/interop/check_cbs.py" "$endpoint"
