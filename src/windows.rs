//! The few Win32 calls std does not offer, for the two places where Windows needs its own
//! equivalent of a Unix call: the bounded stdin read (`poll` on a pipe) and the detached
//! refresh worker (a child that must not hold Claude Code's pipe open).
//!
//! Hand-declared rather than through `windows-sys`: two kernel32 functions do not earn a crate,
//! and kernel32 is linked into every Windows program anyway. Credential Manager calls live in
//! `credentials/credman.rs`, the only module allowed near a token.

use std::ffi::c_void;
use std::os::windows::io::AsRawHandle;
use std::time::{Duration, Instant};

type Handle = *mut c_void;

const HANDLE_FLAG_INHERIT: u32 = 0x0000_0001;

#[link(name = "kernel32")]
unsafe extern "system" {
    fn SetHandleInformation(handle: Handle, mask: u32, flags: u32) -> i32;
    fn PeekNamedPipe(
        pipe: Handle,
        buffer: *mut c_void,
        buffer_size: u32,
        bytes_read: *mut u32,
        total_bytes_avail: *mut u32,
        bytes_left_this_message: *mut u32,
    ) -> i32;
}

/// Makes this process's stdin, stdout and stderr non-inheritable, so a child spawned next does
/// not get them. `CreateProcess` hands every inheritable handle to the child whatever its own
/// stdio is, and the handles Claude Code (through Git Bash or PowerShell) gave us are
/// inheritable: a refresh worker holding our stdout open would make Claude Code wait for it,
/// up to the worker's 6 s request, before it shows the status line. Called just before the
/// worker is spawned, when this process is about to exit anyway.
pub fn stop_std_handle_inheritance() {
    let handles = [
        std::io::stdin().as_raw_handle(),
        std::io::stdout().as_raw_handle(),
        std::io::stderr().as_raw_handle(),
    ];
    for handle in handles {
        if !handle.is_null() {
            // SAFETY: a handle std holds for the life of the process; a failure (no such handle,
            // a console pseudo-handle) leaves it as it was, which is harmless.
            unsafe {
                SetHandleInformation(handle.cast(), HANDLE_FLAG_INHERIT, 0);
            }
        }
    }
}

/// Waits up to `timeout` until a read from stdin would not block: Windows' `poll` on a pipe.
/// A pipe is polled with `PeekNamedPipe`; it fails on a closed pipe (the read gives EOF) and on
/// anything that is not a pipe (a file or `NUL`, whose reads never block), so both count as
/// readable.
pub fn stdin_readable(timeout: Duration) -> bool {
    let handle: Handle = std::io::stdin().as_raw_handle().cast();
    let start = Instant::now();
    loop {
        let mut avail: u32 = 0;
        // SAFETY: a null buffer of size 0 is allowed; `avail` outlives the call.
        let ok = unsafe {
            PeekNamedPipe(
                handle,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                &mut avail,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 || avail > 0 {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
