# Shared by the interop scripts (sourced): a Python venv with pinned packages, a
# scratch directory, and an emulator on 127.0.0.1, stopped when the script exits.

# venv DIR PACKAGE==VERSION...: creates DIR if needed and installs the packages in it.
venv() {
  local dir=$1
  shift
  if [ ! -x "$dir/bin/python" ]; then
    python3 -m venv "$dir"
  fi
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}

# A scratch directory, $work, removed when the script exits (with the emulator, if any).
work=$(mktemp -d)
emulator_pid=""
trap 'if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

# start_emulator BINARY ARGS...: starts it and sets $endpoint to the HOST:PORT it
# listens on.
start_emulator() {
  "$@" >"$work/emulator.log" &
  emulator_pid=$!
  endpoint=""
  for _ in $(seq 1 100); do
    endpoint=$(sed -n 's#^listening on https\{0,1\}://##p' "$work/emulator.log" | head -n 1)
    [ -n "$endpoint" ] && return 0
    sleep 0.1
  done
  echo "the emulator did not start: $(cat "$work/emulator.log")" >&2
  exit 1
}
