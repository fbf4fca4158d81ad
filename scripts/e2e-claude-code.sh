#!/usr/bin/env bash
# End-to-end: ccmeter inside the real Claude Code client, against a loopback mock of the
# Anthropic Messages API that sends Pro/Max rate-limit headers (5h 42 %, 7d 18 %).
#
# Not part of `cargo test`: it downloads @anthropic-ai/claude-code from npm (~250 MB native
# binary) and needs tmux. Everything else stays on 127.0.0.1: a temp HOME with a fake OAuth
# credential, ANTHROPIC_BASE_URL pointing at the mock, CCMETER_OFFLINE=1.
#
# What it proves: `ccmeter setup` wires the status line into $HOME/.claude/settings.json,
# Claude Code runs it after the first reply with rate_limits on stdin, and the line shows
# `5h 42%` and `7d 18%`.
#
# Env knobs:
#   CLAUDE_BIN=/path/to/claude   use this client instead of installing from npm
#   E2E_CAPTURE_STDIN=FILE       also save the statusLine stdin Claude Code sent (via a tee wrapper)
#   E2E_KEEP=1                   keep the temp dir (logs, settings, transcripts) for inspection
#   E2E_TIMEOUT=60               seconds to wait for the reply and the status line
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
timeout_s="${E2E_TIMEOUT:-60}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ccmeter-e2e.XXXXXX")"
sock="ccmeter-e2e-$$"
session="ccmeter-e2e"
mock_pid=""

cleanup() {
    local rc=$?
    tmux -L "$sock" kill-server 2>/dev/null || true
    if [[ -n "$mock_pid" ]]; then kill "$mock_pid" 2>/dev/null || true; fi
    if [[ "${E2E_KEEP:-}" == 1 ]]; then
        echo "e2e: kept $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT INT TERM

say() { printf 'e2e: %s\n' "$*" >&2; }
fail() {
    say "FAIL: $*"
    if [[ -s "$tmp/requests.log" ]]; then
        say "requests the mock saw:"
        sed 's/^/    /' "$tmp/requests.log" >&2
    fi
    exit 1
}

# 1. ccmeter, Claude Code, tmux.
say "building ccmeter (release)"
(cd "$root" && cargo build --release --quiet)
ccmeter="$root/target/release/ccmeter"
[[ -x "$ccmeter" ]] || fail "no binary at $ccmeter"

if [[ -n "${CLAUDE_BIN:-}" ]]; then
    claude="$CLAUDE_BIN"
else
    say "installing @anthropic-ai/claude-code from npm into $tmp/npm"
    npm install --prefix "$tmp/npm" --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code >&2
    claude="$tmp/npm/node_modules/.bin/claude"
fi
[[ -x "$claude" ]] || fail "no claude executable at $claude"

if ! command -v tmux >/dev/null; then
    say "installing tmux"
    sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq >&2 || true
    $sudo apt-get install -y tmux >&2
fi

# 2. The mock API on a free loopback port.
python3 "$root/scripts/e2e/mock_anthropic.py" "$tmp/port" "$tmp/requests.log" &
mock_pid=$!
for _ in $(seq 50); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
[[ -s "$tmp/port" ]] || fail "mock did not start"
port="$(cat "$tmp/port")"
say "mock API on 127.0.0.1:$port"

# 3. A fresh HOME: fake OAuth login, onboarding and trust dialogs already done.
home="$tmp/home"
proj="$tmp/project"
mkdir -p "$home/.claude" "$proj" "$tmp/cache"
expires_ms=$(( ($(date +%s) + 365 * 86400) * 1000 ))
cat > "$home/.claude/.credentials.json" <<EOF
{
  "claudeAiOauth": {
    "accessToken": "sk-ant-oat01-FAKE-e2e-token-not-real-000000000000",
    "refreshToken": "sk-ant-ort01-FAKE-e2e-token-not-real-111111111111",
    "expiresAt": $expires_ms,
    "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
    "subscriptionType": "max",
    "rateLimitTier": "default_claude_max_5x"
  }
}
EOF
chmod 600 "$home/.claude/.credentials.json"
# Claude Code 2.1.x needs only these two to go straight to the prompt.
cat > "$home/.claude.json" <<EOF
{"hasCompletedOnboarding": true, "projects": {"$proj": {"hasTrustDialogAccepted": true}}}
EOF

# The status line goes in the way a user puts it there.
say "ccmeter setup"
env -u CLAUDE_CONFIG_DIR -u CLAUDE_SECURESTORAGE_CONFIG_DIR HOME="$home" "$ccmeter" setup >&2 \
    || fail "ccmeter setup failed"
installed="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["statusLine"]["command"])' \
    "$home/.claude/settings.json")"
[[ "$installed" == "$ccmeter" ]] || fail "setup installed statusLine.command=$installed, expected $ccmeter"

if [[ -n "${E2E_CAPTURE_STDIN:-}" ]]; then
    capture="$(realpath -m "$E2E_CAPTURE_STDIN")"
    cat > "$tmp/statusline.sh" <<EOF
#!/bin/sh
tee "$capture.tmp" | "$ccmeter" && mv -f "$capture.tmp" "$capture"
EOF
    chmod +x "$tmp/statusline.sh"
    python3 - "$home/.claude/settings.json" "$tmp/statusline.sh" <<'EOF'
import json, sys
path, cmd = sys.argv[1], sys.argv[2]
s = json.load(open(path))
s["statusLine"]["command"] = cmd
open(path, "w").write(json.dumps(s, indent=2) + "\n")
EOF
fi

# 4. Claude Code in tmux; one prompt; wait for the reply and for ccmeter's line.
tmux -L "$sock" -f /dev/null new-session -d -s "$session" -x 120 -y 40 -c "$proj" \
    env -i PATH="$PATH" HOME="$home" TERM=xterm-256color LANG=C.UTF-8 \
    ANTHROPIC_BASE_URL="http://127.0.0.1:$port" \
    CCMETER_CACHE_DIR="$tmp/cache" CCMETER_OFFLINE=1 \
    DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
    "$claude"
tmux -L "$sock" set-option -t "$session" remain-on-exit on >/dev/null

pane() { tmux -L "$sock" capture-pane -p -t "$session" 2>/dev/null || true; }
wait_for() { # wait_for SECONDS GREP-PATTERN…: all patterns on the pane
    local deadline=$((SECONDS + $1)) p
    shift
    while ((SECONDS < deadline)); do
        local text ok=1
        text="$(pane)"
        for p in "$@"; do grep -qF -- "$p" <<<"$text" || ok=0; done
        ((ok)) && return 0
        sleep 0.5
    done
    return 1
}

wait_for "$timeout_s" "❯" || { pane; fail "Claude Code did not reach its prompt"; }
sleep 1
tmux -L "$sock" send-keys -t "$session" -l "Say hi in three words."
sleep 0.5
tmux -L "$sock" send-keys -t "$session" Enter
wait_for "$timeout_s" "Hello from the mock." || { pane; fail "no reply from the mock in the pane"; }
ok=0
wait_for "$timeout_s" "5h 42%" "7d 18%" && ok=1

echo "----- captured pane -----"
pane | sed -e '/^[[:space:]]*$/d'
echo "-------------------------"
((ok)) || fail "ccmeter's line (5h 42% / 7d 18%) did not appear in the status line"
grep -q "POST /v1/messages" "$tmp/requests.log" || fail "Claude Code never called the mock"
if [[ -n "${E2E_CAPTURE_STDIN:-}" ]]; then say "statusLine stdin saved to $capture"; fi
say "PASS: Claude Code shows ccmeter's line"
