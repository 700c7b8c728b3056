# Shared by the scripts: the repo root, and the venv with the Python tools.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV=$ROOT/.venv

# Installs tests/e2e/requirements.txt into .venv once (again when it changes).
ensure_e2e_tools() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  local stamp=$VENV/.e2e-requirements want
  want=$(sha256sum tests/e2e/requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
    echo "$want" >"$stamp"
  fi
  export CARGO_LAMBDA=$VENV/bin/cargo-lambda
}

# The release binaries the end-to-end tests, demo and benchmark run. Built
# one package at a time so the function's dependencies keep only its own
# features (a workspace build would unify the emulator's into it).
build_release() {
  cargo build --release --locked --bin bootstrap
  cargo build --release --locked -p emulator --bin emulator
}
