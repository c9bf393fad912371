//! The Linux system call ABI as elfin serves it: syscall numbers per architecture,
//! decoding of raw arguments into typed calls, `Errno`, and the exact Linux struct
//! layouts that cross the user boundary. `no_std + alloc`, host-testable; knows
//! nothing about the kernel's internals.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

extern crate alloc;

pub mod aarch64;
pub mod call;
pub mod errno;
pub mod uapi;
pub mod x86_64;

pub use call::{Call, Nr, UAddr};
