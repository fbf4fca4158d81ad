#!/bin/sh
# Installs ccmeter, then shows it working (`ccmeter demo`) and how to wire it into Claude Code.
#
#   curl -fsSL https://github.com/ccmeter/ccmeter/releases/latest/download/install.sh | sh
#   ./install.sh               from a checkout: builds with cargo when there is one
#   ./install.sh --prebuilt    from a checkout: downloads the release binary anyway
#
# Prebuilt: downloads ccmeter-<target>.tar.gz and its .sha256 from CCMETER_DOWNLOAD_BASE (default:
# the latest GitHub release), checks the checksum, and installs the binary into
# CCMETER_INSTALL_DIR (default ~/.local/bin). CCMETER_TARGET overrides the detected target
# (Linux: <arch>-unknown-linux-musl, static). A failed download or a checksum mismatch installs
# nothing. Plain POSIX sh, curl or wget, and sha256sum or shasum.
set -eu

repo_url="https://github.com/ccmeter/ccmeter"
base="${CCMETER_DOWNLOAD_BASE:-$repo_url/releases/latest/download}"
install_dir="${CCMETER_INSTALL_DIR:-$HOME/.local/bin}"

say() { printf '%s\n' "$*"; }
die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

prebuilt=0
for arg in "$@"; do
    case "$arg" in
        --prebuilt) prebuilt=1 ;;
        -h | --help)
            sed -n '2,12p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown option $arg (try --help)" ;;
    esac
done

# A checkout only when run as a file next to Cargo.toml; piped into sh, $0 is the shell.
checkout=""
case "$0" in
    *install.sh)
        dir="$(cd "$(dirname "$0")" && pwd)"
        if [ -f "$dir/Cargo.toml" ] && grep -q '^name = "ccmeter"' "$dir/Cargo.toml"; then
            checkout="$dir"
        fi
        ;;
esac

settings_hint() {
    cat <<EOT

==> Claude Code status line: run  ccmeter setup  (shows the diff, keeps a backup), or add to
    ~/.claude/settings.json yourself:

    "statusLine": { "type": "command", "command": "$1", "padding": 0, "refreshInterval": 30 }

==> Next: ccmeter setup   then   ccmeter doctor

EOT
}

path_note() {
    case ":$PATH:" in
        *":$1:"*) ;;
        *) say "note: $1 is not on your PATH; add it (e.g. in ~/.profile: export PATH=\"$1:\$PATH\"), or use the absolute path below." ;;
    esac
}

# ---- from source, with cargo ---------------------------------------------------------------

# The oldest Rust that builds ccmeter: Cargo.toml's rust-version (let chains, Rust 1.88). Checked
# before building, so an old toolchain gets one clear line instead of a page of compile errors.
min_rust=1.88
check_rust_version() {
    found=$(rustc --version 2>/dev/null | sed -n 's/^rustc \([0-9][0-9]*\.[0-9][0-9]*\)\(\.[0-9][0-9]*\)\{0,1\}.*/\1\2/p')
    if [ -z "$found" ]; then
        die "cannot tell the Rust version (rustc --version); ccmeter needs $min_rust or newer (or: ./install.sh --prebuilt)"
    fi
    major=${found%%.*}
    rest=${found#*.}
    minor=${rest%%.*}
    if [ "$major" -lt "${min_rust%%.*}" ] ||
        { [ "$major" -eq "${min_rust%%.*}" ] && [ "$minor" -lt "${min_rust#*.}" ]; }; then
        die "Rust $found is too old: ccmeter needs $min_rust or newer (rustup update, or: ./install.sh --prebuilt)"
    fi
}

build_from_source() {
    cd "$checkout"
    check_rust_version
    set -- --path . --locked --quiet
    # The static musl build is the one ccmeter ships for Linux: no glibc to match, and the status
    # line starts in about half the time. Used when the target and musl-gcc are at hand.
    if [ "$(uname -s)" = Linux ] && command -v rustup >/dev/null 2>&1; then
        arch="$(uname -m)"
        [ "$arch" = arm64 ] && arch=aarch64
        musl="$arch-unknown-linux-musl"
        if ! command -v musl-gcc >/dev/null 2>&1; then
            say "note: no musl-gcc, so a dynamic build (for the static one: apt-get install musl-tools)"
        elif rustup target list --installed 2>/dev/null | grep -qx "$musl" ||
            rustup target add "$musl" >/dev/null 2>&1; then
            cc_var="CC_$(printf '%s' "$musl" | tr - _)"
            export "$cc_var=musl-gcc"
            set -- "$@" --target "$musl"
        else
            say "note: could not add the $musl target, so a dynamic build"
        fi
    fi
    say "==> cargo install $* (building ccmeter from source takes a minute or two)"
    cargo install "$@"
    bin_dir="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
    bin="$bin_dir/ccmeter"
    [ -x "$bin" ] || die "expected $bin after cargo install, but it is missing"
    say "==> installed $bin ($("$bin" --version))"
    path_note "$bin_dir"
}

# ---- prebuilt, downloaded ------------------------------------------------------------------

detect_target() {
    os="$(uname -s)"
    arch="$(uname -m)"
    case "$arch" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) die "no prebuilt ccmeter for the $arch architecture; build it with cargo (https://rustup.rs)" ;;
    esac
    case "$os" in
        Linux) echo "$arch-unknown-linux-musl" ;;
        Darwin)
            # An Intel shell under Rosetta on Apple silicon still gets the native binary.
            if [ "$arch" = x86_64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null)" = 1 ]; then
                arch=aarch64
            fi
            echo "$arch-apple-darwin"
            ;;
        MINGW* | MSYS* | CYGWIN*) echo "x86_64-pc-windows-msvc" ;;
        *) die "no prebuilt ccmeter for $os; build it with cargo (https://rustup.rs)" ;;
    esac
}

fetch() { # URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 2 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    else
        die "neither curl nor wget is installed; nothing was installed"
    fi
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 "$1" | sed 's/.*= *//'
    else
        die "no sha256sum, shasum or openssl to check the download with; nothing was installed"
    fi
}

install_prebuilt() {
    target="${CCMETER_TARGET:-$(detect_target)}"
    case "$target" in
        *-windows-*) archive="ccmeter-$target.zip" exe=ccmeter.exe ;;
        *) archive="ccmeter-$target.tar.gz" exe=ccmeter ;;
    esac
    tmp="$(mktemp -d 2>/dev/null || mktemp -d -t ccmeter)"
    trap 'rm -rf "$tmp"' EXIT INT TERM
    say "==> downloading $base/$archive"
    fetch "$base/$archive" "$tmp/$archive" ||
        die "download failed: $base/$archive; nothing was installed"
    fetch "$base/$archive.sha256" "$tmp/$archive.sha256" ||
        die "download failed: $base/$archive.sha256; nothing was installed"
    expected="$(cut -d' ' -f1 <"$tmp/$archive.sha256")"
    actual="$(sha256_of "$tmp/$archive")"
    if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
        die "checksum mismatch for $archive (expected ${expected:-nothing}, got $actual); nothing was installed"
    fi
    say "==> checksum ok ($actual)"
    mkdir "$tmp/x"
    case "$archive" in
        *.zip) (cd "$tmp/x" && unzip -q "../$archive") || die "cannot unpack $archive; nothing was installed" ;;
        *) tar -xzf "$tmp/$archive" -C "$tmp/x" || die "cannot unpack $archive; nothing was installed" ;;
    esac
    [ -f "$tmp/x/$exe" ] || die "$archive holds no $exe; nothing was installed"
    chmod 755 "$tmp/x/$exe"
    version="$("$tmp/x/$exe" --version 2>/dev/null)" ||
        die "the downloaded $exe does not run on this machine (target $target); nothing was installed"
    mkdir -p "$install_dir"
    # Copied under a temp name in the same dir, then renamed: a running ccmeter (the status line
    # runs it all the time) is never overwritten in place.
    cp "$tmp/x/$exe" "$install_dir/.$exe.$$"
    mv -f "$install_dir/.$exe.$$" "$install_dir/$exe"
    bin="$install_dir/$exe"
    say "==> installed $bin ($version)"
    path_note "$install_dir"
}

if [ "$prebuilt" = 0 ] && [ -n "$checkout" ] && command -v cargo >/dev/null 2>&1; then
    build_from_source
else
    if [ "$prebuilt" = 0 ] && [ -n "$checkout" ]; then
        say "note: cargo not found, so installing the prebuilt binary (https://rustup.rs to build from source)"
    fi
    install_prebuilt
fi

settings_hint "$bin"
"$bin" demo
