#!/usr/bin/env sh
# Builds and installs ccmeter with cargo, then shows it working (`ccmeter demo`) and how to
# wire it into Claude Code. Needs only a Rust toolchain (https://rustup.rs).
set -eu
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found. Install Rust from https://rustup.rs, then re-run ./install.sh" >&2
  exit 1
fi

# The oldest Rust that builds ccmeter: Cargo.toml's rust-version (let chains, Rust 1.88). Checked
# before building, so an old toolchain gets one clear line instead of a page of compile errors.
min_rust=1.88
check_rust_version() {
  found=$(rustc --version 2>/dev/null | sed -n 's/^rustc \([0-9][0-9]*\.[0-9][0-9]*\)\(\.[0-9][0-9]*\)\{0,1\}.*/\1\2/p')
  if [ -z "$found" ]; then
    echo "install.sh: cannot tell the Rust version (rustc --version); ccmeter needs $min_rust or newer" >&2
    return 1
  fi
  major=${found%%.*}; rest=${found#*.}; minor=${rest%%.*}
  if [ "$major" -lt "${min_rust%%.*}" ] ||
     { [ "$major" -eq "${min_rust%%.*}" ] && [ "$minor" -lt "${min_rust#*.}" ]; }; then
    echo "install.sh: Rust $found is too old: ccmeter needs $min_rust or newer (rustup update)" >&2
    return 1
  fi
}
check_rust_version || exit 1

echo "==> cargo install --path . --locked"
cargo install --path . --locked --quiet

bin_dir="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
bin="$bin_dir/ccmeter"
if [ ! -x "$bin" ]; then
  echo "install.sh: expected $bin after cargo install, but it is missing" >&2
  exit 1
fi
echo "==> installed $bin ($("$bin" --version))"
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "note: $bin_dir is not on your PATH; add it, or use the absolute path below." ;;
esac

cat <<EOT

==> Claude Code status line: run  ccmeter setup  (shows the diff, keeps a backup), or add to
    ~/.claude/settings.json yourself:

    "statusLine": { "type": "command", "command": "$bin", "padding": 0, "refreshInterval": 30 }

==> Next: ccmeter setup   then   ccmeter doctor

EOT
"$bin" demo
