//! The bytes of a RAM file, kept page by page: a file grows without ever
//! needing a contiguous block of kernel memory as large as itself (a single
//! buffer that doubles needed a free block four times the file's size, so a
//! file stopped growing at a fraction of RAM), holes take no memory, and all
//! RAM files together are bounded as tmpfs bounds them by default: half of RAM,
//! past which writes fail with ENOSPC rather than starve the kernel.
//!
//! The pages are frames of the frame allocator, not kernel heap: the heap never
//! gives memory back, so the memory of a big file, once removed, would stay the
//! kernel's.
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use elfin_shim::errno::Errno;

use crate::mem::frames;
use crate::mem::vm::kernel_reserve;

/// Bytes in a page.
pub const PAGE: usize = 4096;

/// Pages held by all RAM files.
static USED: AtomicUsize = AtomicUsize::new(0);

/// The most pages RAM files may hold together (tmpfs's default size: half of RAM).
pub fn limit() -> usize {
    crate::mem::frames::total_count() / 2
}

/// Pages RAM files hold now.
pub fn used() -> usize {
    USED.load(Ordering::Relaxed)
}

/// Takes one page from the budget, or ENOSPC.
fn charge() -> Result<(), Errno> {
    let limit = limit();
    USED.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| (u < limit).then_some(u + 1))
        .map(|_| ())
        .map_err(|_| Errno::ENOSPC)
}

/// One page of file data: a frame owned by the file.
struct Page(u64);

impl Page {
    fn bytes(&self) -> &[u8] {
        frames::frame_bytes(self.0)
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        frames::frame_bytes(self.0)
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // Mappings may still hold the frame (see Paged::share_page): it stops being
        // the file's, and the last owner frees it.
        frames::put_file_page(self.0);
        USED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A zeroed page, charged to the budget (ENOSPC when the budget is exhausted, or
/// when taking it would leave less than the kernel keeps for itself).
fn new_page() -> Result<Page, Errno> {
    charge()?;
    let pa = if frames::free_count() > kernel_reserve() { frames::alloc_zeroed() } else { None };
    match pa {
        Some(pa) => {
            // Fork leaves a mapping's pages that are the file's own to fault again.
            frames::mark_file_page(pa);
            Ok(Page(pa))
        }
        None => {
            USED.fetch_sub(1, Ordering::Relaxed);
            Err(Errno::ENOSPC)
        }
    }
}

/// Sparse file bytes: `len` bytes, of which the pages absent from `pages` are zeros.
#[derive(Default)]
pub struct Paged {
    len: usize,
    pages: BTreeMap<usize, Page>,
}

impl Paged {
    /// A copy of `data` (ENOSPC when it does not fit).
    pub fn from_slice(data: &[u8]) -> Result<Paged, Errno> {
        let mut p = Paged::default();
        p.write_at(0, data)?;
        Ok(p)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Pages that hold memory.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// The frame of page `idx` with one more owner (`frames::share`), unless the
    /// page is a hole. The file keeps writing its bytes there, so that a mapping of
    /// it sees what `write` puts in the file, as with Linux's page cache.
    pub fn share_page(&self, idx: usize) -> Option<u64> {
        let p = self.pages.get(&idx)?;
        frames::share(p.0);
        Some(p.0)
    }

    /// Copies bytes from `off` into `buf`; returns how many (0 at or past the end).
    pub fn read_at(&self, off: usize, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.len.saturating_sub(off));
        let mut done = 0;
        while done < n {
            let pos = off + done;
            let (idx, within) = (pos / PAGE, pos % PAGE);
            let k = (PAGE - within).min(n - done);
            let dst = buf.get_mut(done..done + k).unwrap_or(&mut []);
            match self.pages.get(&idx).and_then(|p| p.bytes().get(within..within + k)) {
                Some(src) => dst.copy_from_slice(src),
                None => dst.fill(0),
            }
            done += k;
        }
        n
    }

    /// Writes `data` at `off`, growing the file. Nothing is written when a page
    /// cannot be had (ENOSPC): the pages are taken first.
    pub fn write_at(&mut self, off: usize, data: &[u8]) -> Result<(), Errno> {
        let end = off.checked_add(data.len()).ok_or(Errno::EFBIG)?;
        if data.is_empty() {
            return Ok(());
        }
        // Take the missing pages first, so that a failure changes nothing.
        let mut fresh: Vec<(usize, Page)> = Vec::new();
        for idx in off / PAGE..end.div_ceil(PAGE) {
            if !self.pages.contains_key(&idx) {
                // On failure the pages taken so far go back as `fresh` drops.
                fresh.push((idx, new_page()?));
            }
        }
        self.pages.extend(fresh);
        let mut done = 0;
        while done < data.len() {
            let pos = off + done;
            let (idx, within) = (pos / PAGE, pos % PAGE);
            let k = (PAGE - within).min(data.len() - done);
            if let Some(p) = self.pages.get_mut(&idx) {
                if let (Some(dst), Some(src)) = (p.bytes_mut().get_mut(within..within + k), data.get(done..done + k)) {
                    dst.copy_from_slice(src);
                }
            }
            done += k;
        }
        self.len = self.len.max(end);
        Ok(())
    }

    /// Takes the pages of bytes [start, end) now, zeroed where they were holes,
    /// without changing the length (fallocate); ENOSPC, with nothing taken, when
    /// they do not fit.
    pub fn allocate(&mut self, start: usize, end: usize) -> Result<(), Errno> {
        let mut fresh: Vec<(usize, Page)> = Vec::new();
        for idx in start / PAGE..end.div_ceil(PAGE) {
            if !self.pages.contains_key(&idx) {
                fresh.push((idx, new_page()?));
            }
        }
        self.pages.extend(fresh);
        Ok(())
    }

    /// Makes bytes [start, end) a hole: the pages wholly inside go back, the
    /// parts of pages at its edges are zeroed.
    pub fn punch(&mut self, start: usize, end: usize) {
        let (first_whole, past_whole) = (start.div_ceil(PAGE), end / PAGE);
        if first_whole < past_whole {
            let mut rest = self.pages.split_off(&first_whole);
            let mut after = rest.split_off(&past_whole);
            self.pages.append(&mut after);
            // The punched pages go back to the frame allocator as `rest` drops.
            drop(rest);
        }
        for idx in [start / PAGE, end.saturating_sub(1) / PAGE] {
            let lo = start.max(idx * PAGE);
            let hi = end.min((idx + 1) * PAGE);
            if lo < hi && (!lo.is_multiple_of(PAGE) || hi - lo < PAGE) {
                if let Some(b) =
                    self.pages.get_mut(&idx).and_then(|p| p.bytes_mut().get_mut(lo % PAGE..(hi - 1) % PAGE + 1))
                {
                    b.fill(0);
                }
            }
        }
    }

    /// Sets the length: pages past the end are freed and the tail of the last
    /// page is zeroed, so that growing again reads zeros.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            let first_gone = len.div_ceil(PAGE);
            // The pages past the end go back to the frame allocator as they drop.
            drop(self.pages.split_off(&first_gone));
            if !len.is_multiple_of(PAGE) {
                if let Some(tail) = self.pages.get_mut(&(len / PAGE)).and_then(|p| p.bytes_mut().get_mut(len % PAGE..))
                {
                    tail.fill(0);
                }
            }
        }
        self.len = len;
    }
}
