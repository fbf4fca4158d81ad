//! credentials (stub).
