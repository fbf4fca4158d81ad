//! Which Claude Code version ccmeter is wiring into, and so which hook events it may name: an
//! older client may reject a settings file naming an event it does not know.

use std::fmt;

/// The hook events every Claude Code with hooks knows: before each prompt, and at session start.
const BASE_EVENTS: [&str; 2] = ["UserPromptSubmit", "SessionStart"];

/// Events that arrived later, with the first Claude Code version that has each. An older client
/// may reject a settings file naming an event it does not know, so these are added only for a
/// version ccmeter has seen. `StopFailure`: CHANGELOG.md of anthropics/claude-code, 2.1.78
/// ("Added `StopFailure` hook event"). `PreModelSwitch` is not in that changelog; the Agent SDK's
/// `HOOK_EVENTS` (whose `claudeCodeVersion` tracks the client) lists it from 2.1.251 on, not in
/// 2.1.250.
const LATER_EVENTS: [(&str, Version); 2] = [
    ("PreModelSwitch", Version(2, 1, 251)),
    ("StopFailure", Version(2, 1, 78)),
];

/// A Claude Code version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// `2.1.330`, also with a suffix (`2.1.330-beta.1`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.trim().splitn(3, '.');
        let mut num = |last: bool| -> Option<u32> {
            let p = parts.next()?;
            let digits = if last {
                &p[..p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len())]
            } else {
                p
            };
            digits.parse().ok()
        };
        Some(Version(num(false)?, num(false)?, num(true)?))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The hook events to wire for the Claude Code version ccmeter last saw (`None`: not seen yet),
/// and the later ones left out.
pub fn hook_events(seen: Option<Version>) -> (Vec<&'static str>, Vec<(&'static str, Version)>) {
    let mut on: Vec<&str> = BASE_EVENTS.to_vec();
    let mut left_out = Vec::new();
    for (event, since) in LATER_EVENTS {
        if seen.is_some_and(|v| v >= since) {
            on.push(event);
        } else {
            left_out.push((event, since));
        }
    }
    (on, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&str; 4] = [
        "UserPromptSubmit",
        "SessionStart",
        "PreModelSwitch",
        "StopFailure",
    ];

    #[test]
    fn later_events_need_the_version_that_introduced_them() {
        assert_eq!(hook_events(None).0, BASE_EVENTS);
        assert_eq!(
            hook_events(Version::parse("2.1.78")).0,
            ["UserPromptSubmit", "SessionStart", "StopFailure"]
        );
        assert_eq!(hook_events(Version::parse("2.1.251")).0, ALL);
        assert_eq!(hook_events(Version::parse("2.1.250")).1.len(), 1);
        assert_eq!(hook_events(Version::parse("2.1.77")).1.len(), 2);
        assert_eq!(Version::parse("2.1.330-beta.2"), Some(Version(2, 1, 330)));
        assert_eq!(Version::parse("junk"), None);
        assert_eq!(Version::parse("2.1"), None);
    }
}
