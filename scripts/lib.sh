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

# Puts the cargo subcommand $1 (cargo-deny or cargo-fuzz), at the version
# scripts/rust-tools.txt pins, into .venv/bin and .venv/bin first on PATH, so
# that `cargo deny` / `cargo fuzz` run that one. A prebuilt binary from PyPI
# (seconds); `cargo install --locked` of the same version only when the wheel
# cannot be installed (another platform, say), which takes minutes.
ensure_cargo_tool() {
  local tool=$1 reqs=$ROOT/scripts/rust-tools.txt version
  version=$(sed -n "s/^astral-dev-toolchain-$tool==\([^ ]*\).*/\1/p" "$reqs")
  [ -n "$version" ] || { echo "$tool is not pinned in $reqs" >&2; return 1; }
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  export PATH="$VENV/bin:$PATH"
  [ "$("$VENV/bin/$tool" --version 2>/dev/null)" = "$tool $version" ] && return 0
  echo "== $tool $version: prebuilt, from PyPI (scripts/rust-tools.txt)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --only-binary=:all: --require-hashes -r "$reqs" || true
  if [ "$("$VENV/bin/$tool" --version 2>/dev/null)" != "$tool $version" ]; then
    echo "== no usable wheel: cargo install $tool $version (from source, minutes)"
    cargo install --locked --version "$version" --root "$VENV" "$tool"
  fi
  "$VENV/bin/$tool" --version
}
