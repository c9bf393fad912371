//! Copies between kernel buffers and user memory. Every access goes through the
//! program's page table (committing lazily reserved pages on the way) and the
//! direct map; a bad pointer is `EFAULT`, never a kernel fault.
use alloc::vec::Vec;

use bytemuck::Pod;
use elfin_arch::PAGE_SIZE;
use elfin_shim::errno::Errno;
use elfin_shim::UAddr;

use crate::mem::frames;
use crate::mem::vm::AddrSpace;

/// Largest single copy accepted (beyond this a call fails with EFAULT/E2BIG).
const MAX_COPY: usize = 1 << 30;

/// Splits [addr, addr+len) at page boundaries: (page address, offset in page, length,
/// offset in the buffer).
fn chunks(addr: u64, len: usize) -> Result<impl Iterator<Item = (u64, usize, usize, usize)>, Errno> {
    if len > MAX_COPY {
        return Err(Errno::EFAULT);
    }
    let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
    if end > crate::mem::vm::USER_END {
        return Err(Errno::EFAULT);
    }
    let mut va = addr;
    let mut done = 0usize;
    Ok(core::iter::from_fn(move || {
        if va >= end {
            return None;
        }
        let in_page = (va & (PAGE_SIZE - 1)) as usize;
        let n = ((PAGE_SIZE as usize) - in_page).min((end - va) as usize);
        let item = (va, in_page, n, done);
        va += n as u64;
        done += n;
        Some(item)
    }))
}

/// Copies `buf.len()` bytes from user address `addr`.
pub fn read_bytes(asp: &mut AddrSpace, addr: UAddr, buf: &mut [u8]) -> Result<(), Errno> {
    for (va, in_page, n, off) in chunks(addr.0, buf.len())? {
        let pa = asp.user_page(va, false).map_err(|_| Errno::EFAULT)?;
        let src = frames::frame_bytes(pa).get(in_page..in_page + n).ok_or(Errno::EFAULT)?;
        buf.get_mut(off..off + n).ok_or(Errno::EFAULT)?.copy_from_slice(src);
    }
    Ok(())
}

/// Copies `data` to user address `addr`.
pub fn write_bytes(asp: &mut AddrSpace, addr: UAddr, data: &[u8]) -> Result<(), Errno> {
    for (va, in_page, n, off) in chunks(addr.0, data.len())? {
        let pa = asp.user_page(va, true).map_err(|_| Errno::EFAULT)?;
        let dst = frames::frame_bytes(pa).get_mut(in_page..in_page + n).ok_or(Errno::EFAULT)?;
        dst.copy_from_slice(data.get(off..off + n).ok_or(Errno::EFAULT)?);
    }
    Ok(())
}

/// Reads a plain-data value from user memory.
pub fn read_val<T: Pod>(asp: &mut AddrSpace, addr: UAddr) -> Result<T, Errno> {
    let mut v = T::zeroed();
    read_bytes(asp, addr, bytemuck::bytes_of_mut(&mut v))?;
    Ok(v)
}

/// Writes a plain-data value to user memory.
pub fn write_val<T: Pod>(asp: &mut AddrSpace, addr: UAddr, v: &T) -> Result<(), Errno> {
    write_bytes(asp, addr, bytemuck::bytes_of(v))
}

/// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
pub fn read_cstr(asp: &mut AddrSpace, addr: UAddr, max: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut va = addr.0;
    loop {
        if va >= crate::mem::vm::USER_END {
            return Err(Errno::EFAULT);
        }
        let pa = asp.user_page(va, false).map_err(|_| Errno::EFAULT)?;
        let in_page = (va & (PAGE_SIZE - 1)) as usize;
        let page = frames::frame_bytes(pa);
        let rest = page.get(in_page..).unwrap_or(&[]);
        match rest.iter().position(|&b| b == 0) {
            Some(i) => {
                out.extend_from_slice(rest.get(..i).unwrap_or(&[]));
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            None => {
                out.extend_from_slice(rest);
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                va = va.checked_add(rest.len() as u64).ok_or(Errno::EFAULT)?;
            }
        }
    }
}

/// Reads a user path (PATH_MAX limit, ENOENT for the empty string is the caller's choice).
pub fn read_path(asp: &mut AddrSpace, addr: UAddr) -> Result<Vec<u8>, Errno> {
    read_cstr(asp, addr, crate::fs::PATH_MAX - 1)
}
