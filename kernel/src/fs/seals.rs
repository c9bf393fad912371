//! File seals (memfd_create(2)'s MFD_ALLOW_SEALING, fcntl F_ADD_SEALS and
//! F_GET_SEALS): a RAM file can be sealed against shrinking, growing, writing
//! and mode changes, and the seals themselves against change. They are checked
//! where a file's size, content or mode changes through a descriptor or a path,
//! and where a shared mapping of it is made.
use core::sync::atomic::{AtomicU32, Ordering};

use elfin_shim::errno::Errno;

use super::file::OpenFile;
use super::Inode;

/// No further seal may be added.
pub const F_SEAL_SEAL: u32 = 0x1;
/// The size may not shrink.
pub const F_SEAL_SHRINK: u32 = 0x2;
/// The size may not grow.
pub const F_SEAL_GROW: u32 = 0x4;
/// The content may not change (no writable shared mapping may exist).
pub const F_SEAL_WRITE: u32 = 0x8;
/// No new write access: existing writable mappings keep theirs.
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
/// The execute bits may not change.
pub const F_SEAL_EXEC: u32 = 0x20;
/// Every seal Linux knows.
const F_ALL_SEALS: u32 = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

/// The seals of a file that can have them (0 for one that cannot).
fn seals_of(n: &dyn Inode) -> u32 {
    n.seals().map(|s| s.load(Ordering::Acquire)).unwrap_or(0)
}

/// How many of `len` bytes may be written at `start` (write, pwrite and their
/// kin). Under F_SEAL_GROW a write past the end stops, as Linux's page-by-page
/// copy does, at the last page boundary inside the file; EPERM if that leaves
/// nothing.
pub fn check_write(n: &dyn Inode, start: u64, len: usize) -> Result<usize, Errno> {
    let s = seals_of(n);
    if s == 0 || len == 0 {
        return Ok(len);
    }
    if s & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
        return Err(Errno::EPERM);
    }
    let size = n.size();
    if s & F_SEAL_GROW != 0 && start.saturating_add(len as u64) > size {
        let boundary = size & !(elfin_arch::PAGE_SIZE - 1);
        if boundary <= start {
            return Err(Errno::EPERM);
        }
        return Ok((boundary - start) as usize);
    }
    Ok(len)
}

/// May the file's size become `len` (truncate, ftruncate, O_TRUNC, fallocate)?
pub fn check_resize(n: &dyn Inode, len: u64) -> Result<(), Errno> {
    let s = seals_of(n);
    let size = n.size();
    if (s & F_SEAL_SHRINK != 0 && len < size) || (s & F_SEAL_GROW != 0 && len > size) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// May the content change in place without a write (fallocate's hole punching)?
pub fn check_modify(n: &dyn Inode) -> Result<(), Errno> {
    if seals_of(n) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// May the mode become `mode` (chmod)? F_SEAL_EXEC keeps the execute bits.
pub fn check_mode(n: &dyn Inode, mode: u32) -> Result<(), Errno> {
    if seals_of(n) & F_SEAL_EXEC != 0 && (n.meta().mode ^ mode) & 0o111 != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// For a shared mapping of the file: EPERM when it is writable and the file is
/// write-sealed; otherwise whether PROT_WRITE may be added later (a read-only
/// shared mapping of a write-sealed file never becomes writable).
pub fn check_shared_map(n: &dyn Inode, write: bool) -> Result<bool, Errno> {
    if seals_of(n) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) == 0 {
        return Ok(true);
    }
    if write {
        return Err(Errno::EPERM);
    }
    Ok(false)
}

/// fcntl F_GET_SEALS: EINVAL for a file that cannot be sealed.
pub fn get(f: &OpenFile) -> Result<u64, Errno> {
    let n = f.inode().ok_or(Errno::EINVAL)?;
    let s = n.seals().ok_or(Errno::EINVAL)?;
    Ok(u64::from(s.load(Ordering::Acquire)))
}

/// fcntl F_ADD_SEALS (Linux's memfd_add_seals): needs a descriptor open for
/// writing; EPERM once F_SEAL_SEAL is set; F_SEAL_WRITE needs that no writable
/// shared mapping exists (`mapped_writable` says whether one does), else EBUSY.
pub fn add(f: &OpenFile, seals: u64, mapped_writable: impl FnOnce() -> bool) -> Result<u64, Errno> {
    if seals > u64::from(u32::MAX) {
        return Err(Errno::EINVAL);
    }
    if !f.writable() {
        return Err(Errno::EPERM);
    }
    let seals = seals as u32;
    if seals & !F_ALL_SEALS != 0 {
        return Err(Errno::EINVAL);
    }
    let n = f.inode().ok_or(Errno::EINVAL)?;
    let cell: &AtomicU32 = n.seals().ok_or(Errno::EINVAL)?;
    let now = cell.load(Ordering::Acquire);
    if now & F_SEAL_SEAL != 0 {
        return Err(Errno::EPERM);
    }
    if seals & F_SEAL_WRITE != 0 && now & F_SEAL_WRITE == 0 && mapped_writable() {
        return Err(Errno::EBUSY);
    }
    // A concurrent F_SEAL_SEAL wins: add only while the seals are still open.
    cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| (s & F_SEAL_SEAL == 0).then_some(s | seals))
        .map_err(|_| Errno::EPERM)?;
    Ok(0)
}
