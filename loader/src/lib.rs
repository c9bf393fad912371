//! ELF validation, load plan and initial user stack for elfin.
//!
//! This crate turns the bytes of a Linux static-PIE (or static non-PIE) ELF program into
//! a [`LoadPlan`] the kernel follows to map it, picks the load bias the way Linux does
//! ([`choose_bias`]), and lays out the initial user stack exactly as Linux's
//! `create_elf_tables` does ([`build_stack`]). It maps nothing itself.
//!
//! `no_std + alloc`, no unsafe code, host-testable. It depends only on `goblin`; it knows
//! nothing about `arch`, `plat` or the kernel's internals.
//!
//! Every input is untrusted: no function here panics, whatever bytes it is given. Errors
//! are [`LoadError`]s whose `Display` is one line a person understands.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::unwrap_used)]
#![deny(clippy::expect_used, clippy::panic, missing_docs)]

extern crate alloc;

pub mod auxv;
mod bias;
mod error;
mod plan;
mod stack;

pub use bias::{aslr_bits, choose_bias, AARCH64_ASLR_BITS, AARCH64_ET_DYN_BASE, X86_64_ASLR_BITS, X86_64_ET_DYN_BASE};
pub use error::{LoadError, StackString};
pub use plan::{
    plan, plan_from, ElfKind, LoadPlan, Machine, Prot, Segment, Source, Tls, MAX_ALIGN, MAX_PHNUM, MAX_SPAN,
    MIN_EXEC_ADDR, PAGE_SIZE,
};
pub use stack::{build_stack, StackArgs, StackImage, MAX_ARG_STRLEN};
