// The platforms ccmeter ships a native binary for, as npm optional dependencies (one package per
// platform, like esbuild's @esbuild/* and ccusage's @ccusage/ccusage-*): npm installs only the one
// whose "os"/"cpu" match. Shared by the launcher (bin/ccmeter) and the postinstall (install.js).
"use strict";

const path = require("path");

const PLATFORMS = {
  "darwin-arm64": "@ccmeter/darwin-arm64",
  "darwin-x64": "@ccmeter/darwin-x64",
  "linux-arm64": "@ccmeter/linux-arm64",
  "linux-x64": "@ccmeter/linux-x64",
  "win32-x64": "@ccmeter/win32-x64",
};

function platformKey() {
  return `${process.platform}-${process.arch}`;
}

function binaryName() {
  return process.platform === "win32" ? "ccmeter.exe" : "ccmeter";
}

// The native binary's path, or null with the reason when there is none.
function findBinary() {
  const key = platformKey();
  const pkg = PLATFORMS[key];
  if (!pkg) {
    return {
      binary: null,
      reason:
        `ccmeter has no prebuilt binary for ${key} (there are: ${Object.keys(PLATFORMS).join(", ")}). ` +
        "Build it from source with a Rust toolchain: cargo install ccmeter",
    };
  }
  try {
    const manifest = require.resolve(`${pkg}/package.json`);
    return { binary: path.join(path.dirname(manifest), binaryName()), pkg };
  } catch (_) {
    return {
      binary: null,
      pkg,
      reason:
        `ccmeter's binary package ${pkg} is not installed (optional dependencies turned off, ` +
        "or installed on another platform). Reinstall with optional dependencies: npm i -g ccmeter",
    };
  }
}

module.exports = { PLATFORMS, platformKey, binaryName, findBinary };
