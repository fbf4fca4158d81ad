//! `scripts/bench`'s timer: runs two programs alternately (so machine noise hits both alike),
//! each with a file as stdin and output discarded, and prints their median wall times (ms), peak
//! RSS (KiB, from wait4) and median CPU times (user + system, ms, from wait4: on a loaded machine
//! the wall time also counts waiting for a CPU, the CPU time does not). An optional shell command
//! runs untimed before each run.
//! Debian's hyperfine predates `--input`, hence this small replacement.
//!
//!   bench_runner RUNS STDIN_FILE PREPARE_A PREPARE_B PROG_A PROG_B   (PREPARE `-` = none)

#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use std::fs::File;
#[cfg(unix)]
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Instant;

// The child is reaped by wait4 (for its rusage), which clippy cannot see.
#[cfg(unix)]
#[allow(clippy::zombie_processes)]
fn run_once(prog: &str, stdin: &str, prepare: &str) -> (f64, i64, f64) {
    if prepare != "-" {
        let _ = Command::new("sh").arg("-c").arg(prepare).status();
    }
    let input = File::open(stdin).expect("stdin file");
    let start = Instant::now();
    let child = Command::new(prog)
        .stdin(Stdio::from(input))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter; the pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    assert!(pid > 0, "wait4 failed");
    let exit = std::process::ExitStatus::from_raw(status);
    assert!(exit.success(), "{prog} exited with {exit}");
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    (
        elapsed,
        usage.ru_maxrss,
        ms(usage.ru_utime) + ms(usage.ru_stime),
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// wait4's peak RSS is Unix-only, and so is the benchmark.
#[cfg(not(unix))]
fn main() {
    eprintln!("bench_runner needs Unix (wait4 for peak RSS)");
    std::process::exit(2);
}

#[cfg(unix)]
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [runs, stdin, prep_a, prep_b, prog_a, prog_b] = &a[..] else {
        eprintln!("usage: bench_runner RUNS STDIN_FILE PREPARE_A PREPARE_B PROG_A PROG_B");
        std::process::exit(2);
    };
    let runs: usize = runs.parse().expect("RUNS");
    let (mut ta, mut tb, mut ra, mut rb) = (Vec::new(), Vec::new(), 0, 0);
    let (mut ca, mut cb) = (Vec::new(), Vec::new());
    for i in 0..runs + 10 {
        let (da, sa, ua) = run_once(prog_a, stdin, prep_a);
        let (db, sb, ub) = run_once(prog_b, stdin, prep_b);
        if i >= 10 {
            // The first runs warm the page cache and are discarded.
            ta.push(da);
            tb.push(db);
            ca.push(ua);
            cb.push(ub);
        }
        ra = ra.max(sa);
        rb = rb.max(sb);
    }
    println!(
        "{:.4} {:.4} {} {} {:.4} {:.4}",
        median(&mut ta),
        median(&mut tb),
        ra,
        rb,
        median(&mut ca),
        median(&mut cb)
    );
}
