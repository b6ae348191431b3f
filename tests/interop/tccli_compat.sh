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
venv "$python_env" "tccli==3.1.189.1"

cargo build --quiet --release -p cbs-emulator -p cbs-cli
start_emulator "$root/target/release/cbs-emulator" --seed-demo --tls "$work/cert.pem" \
  --credential AKIDcompat00000000000000000000000000:compat-secret-key
env -u TENCENTCLOUD_PROFILE -u TENCENTCLOUD_TOKEN \
  TENCENTCLOUD_SECRET_ID=AKIDcompat00000000000000000000000000 TENCENTCLOUD_SECRET_KEY=compat-secret-key \
  HOME="$work" \
  "$python_env/bin/python" "$root/tests/interop/$script" \
  "$python_env/bin/tccli" "$root/target/release/tccbs" "$endpoint" "$work/cert.pem"
