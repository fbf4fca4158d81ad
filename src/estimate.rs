//! estimate (stub).
