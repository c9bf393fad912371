//! Shared helpers for the guest integration tests.
