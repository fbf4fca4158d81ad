// postinstall: make the `ccmeter` command the native binary itself, so the status line (run on
// every update, and every 30 s) starts no node process.
//
// npm links the package's "bin" (bin/ccmeter, a node launcher) before it runs this script. On
// macOS and Linux that link is a symlink to bin/ccmeter, so replacing that file with the native
// binary (hard link, else copy, then an atomic rename) makes the command native. esbuild does the
// same (lib/npm/node-install.ts, maybeOptimizePackage) for the same reason, and skips Windows and
// Yarn as this does: npm's Windows shims and other managers' shims start node on the file, which
// cannot run a binary. There the launcher stays, and `ccmeter setup` writes the native binary's
// own path into Claude Code's settings, so the status line is native anyway.
//
// When no binary fits this platform (none is built for it, or optional dependencies were left
// out) it fails the install with a message saying so: ccmeter cannot work there, and npm (7+)
// shows a script's output only when it fails. Anything else that goes wrong leaves the launcher,
// which still works.
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const { findBinary, platformKey } = require("./platforms.js");

const version = require("./package.json").version;
const launcher = path.join(__dirname, "bin", "ccmeter");

function say(msg) {
  process.stderr.write(`ccmeter: ${msg}\n`);
}

function main() {
  const { binary, reason } = findBinary();
  if (!binary) {
    say(reason);
    process.exitCode = 1;
    return;
  }
  let printed;
  try {
    printed = execFileSync(binary, ["--version"], { encoding: "utf8", windowsHide: true }).trim();
  } catch (e) {
    say(`the binary for ${platformKey()} does not run here (${e.message.split("\n")[0]}); ` +
      "the ccmeter command stays a node launcher");
    return;
  }
  if (printed !== `ccmeter ${version}`) {
    say(`expected "ccmeter ${version}" from ${binary}, got "${printed}"; keeping the launcher`);
    return;
  }
  const agent = process.env.npm_config_user_agent || "";
  if (process.platform === "win32" || !/^npm\//.test(agent)) {
    // The launcher stays: these shims run `node bin/ccmeter`.
    return;
  }
  const temp = path.join(__dirname, "bin", `.ccmeter-${process.pid}.tmp`);
  try {
    try {
      fs.linkSync(binary, temp);
    } catch (_) {
      fs.copyFileSync(binary, temp);
    }
    fs.chmodSync(temp, 0o755);
    fs.renameSync(temp, launcher);
  } catch (e) {
    try {
      fs.unlinkSync(temp);
    } catch (_) {}
    say(`could not put the native binary in place (${e.message}); the ccmeter command stays a node launcher`);
  }
}

main();
