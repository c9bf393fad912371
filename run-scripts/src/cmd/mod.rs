//! One module per subcommand: its clap arguments and its `run` function.

pub mod build;
pub mod compat;
pub mod fuzz;
pub mod image;
pub mod run;
pub mod syscalls;
