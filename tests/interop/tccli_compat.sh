#!/usr/bin/env bash
# Interop: the same tccli command lines through tccli (from PyPI, in a throwaway venv)
# and through tccbs, against one emulator serving HTTPS on 127.0.0.1 (tccli speaks
# only HTTPS). Checks that a script can swap `tccli` for `tccbs`.
# With --speed, measures both instead (tests/interop/speed.py; not run by CI).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="${TCCLI_VENV:-$root/target/tccli-venv}"
tccli_version="3.1.189.1"
script=tccli_compat.py
if [ "${1:-}" = "--speed" ]; then
  script=speed.py
fi

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "tccli==$tccli_version"

cargo build --quiet --release -p cbs-emulator -p cbs-cli
work=$(mktemp -d)
"$root/target/release/cbs-emulator" --seed-demo --tls "$work/cert.pem" \
  --credential AKIDcompat00000000000000000000000000:compat-secret-key >"$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

endpoint=""
for _ in $(seq 1 100); do
  endpoint=$(sed -n 's#^listening on https://##p' "$work/log" | head -n 1)
  [ -n "$endpoint" ] && break
  sleep 0.1
done
if [ -z "$endpoint" ]; then
  echo "the emulator did not start" >&2
  exit 1
fi
env -u TENCENTCLOUD_PROFILE -u TENCENTCLOUD_TOKEN \
  TENCENTCLOUD_SECRET_ID=AKIDcompat00000000000000000000000000 TENCENTCLOUD_SECRET_KEY=compat-secret-key \
  HOME="$work" \
  "$venv/bin/python" "$root/tests/interop/$script" \
  "$venv/bin/tccli" "$root/target/release/tccbs" "$endpoint" "$work/cert.pem"
