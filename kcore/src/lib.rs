//! Pure kernel data structures of elfin that need no hardware: the range map
//! behind every address space's VMAs ([`RangeMap`]), the queue of pending signals
//! ([`SigQueue`]), the table of process and thread ids ([`PidTable`]), the futex
//! buckets ([`FutexBucket`]), the per-CPU run queues with their placement rules
//! ([`RunQueue`]), a device-tree reader ([`fdt`]), seccomp's classic-BPF filters ([`seccomp`]), a terminal's line discipline ([`tty::Ldisc`]) and the load average's arithmetic ([`loadavg`]) and the words of a command line ([`cmdline`]). `no_std + alloc`, no unsafe,
//! no dependencies, host-testable with plain `cargo test -p elfin-kcore`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::unwrap_used)]

extern crate alloc;

pub mod cmdline;
pub mod fdt;
pub mod futex_table;
pub mod loadavg;
pub mod pid;
pub mod range_map;
pub mod runqueue;
pub mod seccomp;
pub mod sigqueue;
pub mod tty;

pub use futex_table::FutexBucket;
pub use pid::PidTable;
pub use range_map::{Range, RangeError, RangeMap, Segment};
pub use runqueue::{Pick, RunQueue};
pub use sigqueue::SigQueue;
