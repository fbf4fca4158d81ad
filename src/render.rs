//! render (stub).
