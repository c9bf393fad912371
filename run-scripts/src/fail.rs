//! The CLI's error: a one-line message for the user and the status to exit with.

use std::fmt;

/// Status when elfin itself fails (bad usage, QEMU missing or failing, kernel crash).
pub const STATUS_ELFIN: i32 = 125;
/// Status on `--timeout`, as timeout(1) uses.
pub const STATUS_TIMEOUT: i32 = 124;

/// A failure of elfin itself, printed as `elfin: <message>`.
#[derive(Debug)]
pub struct Fail {
    /// One line: the file, the problem and the fix.
    pub message: String,
    /// The exit status.
    pub status: i32,
}

impl Fail {
    /// A failure with status 125.
    pub fn new(message: String) -> Self {
        Fail { message, status: STATUS_ELFIN }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
