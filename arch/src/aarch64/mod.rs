//! aarch64 (EL1 kernel in the TTBR1 half, EL0 programs in the TTBR0 half, `svc #0`
//! system calls). The boot path (Image header, EL2 → EL1, boot page tables, MMU on)
//! lives in `elfin-plat` like the x86_64 PVH entry; it uses the register values and
//! layout constants defined here.
pub mod context;
pub mod cpu;
pub mod init;
mod mem;
pub mod paging;
pub mod signal;
pub mod tls;
pub mod trap;
pub mod vdso;
