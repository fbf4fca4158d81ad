#!/usr/bin/env sh
# Builds and installs ccmeter with cargo, then shows it working (`ccmeter demo`) and how to
# wire it into Claude Code. Needs only a Rust toolchain (https://rustup.rs).
set -eu
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found. Install Rust from https://rustup.rs, then re-run ./install.sh" >&2
  exit 1
fi

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
