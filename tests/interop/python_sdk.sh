#!/usr/bin/env bash
# Interop: the official Python SDKs (installed from PyPI into a throwaway venv) talk to
# the emulator over plain HTTP on 127.0.0.1. Nobody here wrote those clients, so this
# checks the emulator against the protocol rather than against our own reading of it;
# then the Tag SDK reads back the tags `tccbs replicate apply` bound.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/interop/common.sh"
python_env="${INTEROP_VENV:-$root/target/interop-venv}"
venv "$python_env" "tencentcloud-sdk-python-cbs==3.1.175" "tencentcloud-sdk-python-tag==3.1.109"

credential=AKIDinterop0000000000000000000000000:interop-secret-key
cargo build --quiet -p cbs-emulator -p cbs-cli
bin="${CARGO_TARGET_DIR:-$root/target}/debug"
start_emulator "$bin/cbs-emulator" --seed-demo --credential "$credential" --copy-duration 2 --create-duration 1
"$python_env/bin/python" "$root/tests/interop/check_cbs.py" "$endpoint"

# A fresh emulator, so the runbook's disks and snapshots stay out of the fleet.
kill "$emulator_pid"
wait "$emulator_pid" 2>/dev/null || true
start_emulator "$bin/cbs-emulator" --seed-demo --credential "$credential" --copy-duration 2
TENCENTCLOUD_SECRET_ID=${credential%%:*} TENCENTCLOUD_SECRET_KEY=${credential#*:} HOME="$work" \
  "$bin/tccbs" --endpoint "http://$endpoint" replicate apply --policy "$root/examples/dr.toml" >"$work/apply.log"
"$python_env/bin/python" "$root/tests/interop/check_tags.py" "$endpoint"
