//! The user thread pointer (FS base on x86_64).
use x86_64::registers::model_specific::FsBase;
use x86_64::VirtAddr;

/// Sets the current CPU's user thread pointer. Returns false for a non-canonical address.
pub fn set_tls(v: u64) -> bool {
    match VirtAddr::try_new(v) {
        Ok(a) => {
            FsBase::write(a);
            true
        }
        Err(_) => false,
    }
}

/// Returns the current CPU's user thread pointer.
pub fn get_tls() -> u64 {
    FsBase::read().as_u64()
}
