//! x86_64 (long mode, ring 3 programs, SYSCALL entry).
pub mod context;
pub mod cpu;
pub mod init;
pub mod io;
pub mod paging;
pub mod signal;
pub mod smp;
pub mod tls;
pub mod trap;
pub mod vdso;
