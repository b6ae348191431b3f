#!/usr/bin/env bash
# Interop: the same tccli command lines through tccli (from PyPI, in a throwaway venv)
# and through tccbs, against one emulator serving HTTPS on 127.0.0.1 (tccli speaks
# only HTTPS). Checks that a script can swap `tccli` for `tccbs`.
# With --speed, measures both instead (tests/interop/speed.py; not run by CI).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/interop/common.sh"
script=tccli_compat.py
if [ "${1:-}" = "--speed" ]; then
  script=speed.py
fi
python_env="${TCCLI_VENV:-$root/target/tccli-venv}"
# tccli itself without its dependencies (the SDK of every service: a minute of
# installing), then what it needs to run CBS actions. pip warns about the SDK left out.
venv "$python_env" --no-deps "tccli==3.1.189.1"
venv "$python_env" "jmespath==1.1.0" "six==1.17.0" "tencentcloud-sdk-python-cbs==3.1.175" \
  "tencentcloud-sdk-python-cvm==3.1.178" "tencentcloud-sdk-python-sts==3.0.1459" "cos-python-sdk-v5==1.9.44"

cargo build --quiet --release -p cbs-emulator -p cbs-cli
start_emulator "${CARGO_TARGET_DIR:-$root/target}/release/cbs-emulator" --seed-demo --tls "$work/cert.pem" \
  --credential AKIDcompat00000000000000000000000000:compat-secret-key
env -u TENCENTCLOUD_PROFILE -u TENCENTCLOUD_TOKEN \
  TENCENTCLOUD_SECRET_ID=AKIDcompat00000000000000000000000000 TENCENTCLOUD_SECRET_KEY=compat-secret-key \
  HOME="$work" \
  "$python_env/bin/python" "$root/tests/interop/$script" \
  "$python_env/bin/tccli" "${CARGO_TARGET_DIR:-$root/target}/release/tccbs" "$endpoint" "$work/cert.pem"
