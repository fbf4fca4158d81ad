# Installs ccmeter on Windows, then shows it working (`ccmeter demo`) and how to wire it into
# Claude Code. Windows PowerShell 5.1 or PowerShell 7:
#
#   irm https://github.com/ccmeter/ccmeter/releases/latest/download/install.ps1 | iex
#
# Downloads ccmeter-<target>.zip and its .sha256 from $env:CCMETER_DOWNLOAD_BASE (default: the
# latest GitHub release), checks the checksum, and installs ccmeter.exe into
# $env:CCMETER_INSTALL_DIR (default ~\.local\bin). $env:CCMETER_TARGET overrides the target
# (x86_64-pc-windows-msvc; Windows on ARM runs it emulated). A failed download or a checksum
# mismatch installs nothing. Building from source instead: cargo install --path . --locked
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue' # Invoke-WebRequest is many times slower with the bar

$repoUrl = 'https://github.com/ccmeter/ccmeter'
$base = if ($env:CCMETER_DOWNLOAD_BASE) { $env:CCMETER_DOWNLOAD_BASE.TrimEnd('/') } else { "$repoUrl/releases/latest/download" }
$installDir = if ($env:CCMETER_INSTALL_DIR) { $env:CCMETER_INSTALL_DIR } else { Join-Path $HOME '.local\bin' }
$target = if ($env:CCMETER_TARGET) { $env:CCMETER_TARGET } else { 'x86_64-pc-windows-msvc' }
$archive = "ccmeter-$target.zip"

function Fail($message) {
    Write-Host "install.ps1: $message" -ForegroundColor Red
    exit 1
}

# TLS 1.2 for Windows PowerShell 5.1 on older systems; a no-op elsewhere.
try { [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12 } catch {}

$tmp = Join-Path ([IO.Path]::GetTempPath()) ("ccmeter-install-" + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    Write-Host "==> downloading $base/$archive"
    foreach ($name in @($archive, "$archive.sha256")) {
        try {
            Invoke-WebRequest -UseBasicParsing -Uri "$base/$name" -OutFile (Join-Path $tmp $name)
        } catch {
            Fail "download failed: $base/$name ($($_.Exception.Message)); nothing was installed"
        }
    }
    $expected = ((Get-Content -Raw (Join-Path $tmp "$archive.sha256")).Trim() -split '\s+')[0].ToLowerInvariant()
    $actual = (Get-FileHash -Algorithm SHA256 (Join-Path $tmp $archive)).Hash.ToLowerInvariant()
    if (-not $expected -or $expected -ne $actual) {
        Fail "checksum mismatch for $archive (expected $expected, got $actual); nothing was installed"
    }
    Write-Host "==> checksum ok ($actual)"
    $unpacked = Join-Path $tmp 'x'
    Expand-Archive -Path (Join-Path $tmp $archive) -DestinationPath $unpacked
    $exe = Join-Path $unpacked 'ccmeter.exe'
    if (-not (Test-Path $exe)) { Fail "$archive holds no ccmeter.exe; nothing was installed" }
    $version = & $exe --version
    if ($LASTEXITCODE -ne 0) { Fail "the downloaded ccmeter.exe does not run here (target $target); nothing was installed" }

    New-Item -ItemType Directory -Force -Path $installDir | Out-Null
    $bin = Join-Path $installDir 'ccmeter.exe'
    # A running ccmeter.exe (the status line runs it all the time) cannot be overwritten, but it
    # can be renamed out of the way.
    if (Test-Path $bin) {
        $old = "$bin.old-" + [Guid]::NewGuid().ToString('N').Substring(0, 8)
        Move-Item -Force $bin $old
        Remove-Item -Force $old -ErrorAction SilentlyContinue
    }
    Copy-Item $exe $bin
    Write-Host "==> installed $bin ($version)"
} finally {
    Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
}

$onPath = ($env:Path -split ';') | Where-Object { $_.TrimEnd('\') -ieq $installDir.TrimEnd('\') }
if (-not $onPath) {
    Write-Host "note: $installDir is not on your PATH; add it (Settings > Environment Variables, or"
    Write-Host "      [Environment]::SetEnvironmentVariable('Path', `"$installDir;`" + [Environment]::GetEnvironmentVariable('Path', 'User'), 'User')),"
    Write-Host "      or use the absolute path below."
}

# Claude Code runs the status line through Git Bash or PowerShell, which mangle backslashes and
# quotes: forward slashes, and `ccmeter setup` writes it that way for you.
$command = $bin -replace '\\', '/'
Write-Host ""
Write-Host "==> Claude Code status line: run  ccmeter setup  (shows the diff, keeps a backup), or add to"
Write-Host "    ~/.claude/settings.json yourself:"
Write-Host ""
Write-Host "    `"statusLine`": { `"type`": `"command`", `"command`": `"$command`", `"padding`": 0, `"refreshInterval`": 30 }"
Write-Host ""
Write-Host "==> Next: ccmeter setup   then   ccmeter doctor"
Write-Host ""
& $bin demo
