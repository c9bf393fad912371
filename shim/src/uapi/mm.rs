//! Memory-management constants.

/// `mmap`, `mprotect`, `mremap`, `madvise`, `msync` and `mlock` constants common
/// to x86_64 and arm64: include/uapi/asm-generic/mman-common.h,
/// include/uapi/asm-generic/mman.h and include/uapi/linux/mman.h. The
/// architecture-only ones are in `x86_64::mmap` and `aarch64::mmap`.
pub mod mmap {
    /// Pages may not be accessed.
    pub const PROT_NONE: u32 = 0x0;
    /// Pages may be read.
    pub const PROT_READ: u32 = 0x1;
    /// Pages may be written.
    pub const PROT_WRITE: u32 = 0x2;
    /// Pages may be executed.
    pub const PROT_EXEC: u32 = 0x4;
    /// Pages may be used for atomic operations.
    pub const PROT_SEM: u32 = 0x8;
    /// `mprotect`: extend the change down to the start of a grows-down mapping.
    pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
    /// `mprotect`: extend the change up to the end of a grows-up mapping.
    pub const PROT_GROWSUP: u32 = 0x0200_0000;

    /// Share changes.
    pub const MAP_SHARED: u32 = 0x01;
    /// Changes are private (copy-on-write).
    pub const MAP_PRIVATE: u32 = 0x02;
    /// Share changes, failing on unknown flags.
    pub const MAP_SHARED_VALIDATE: u32 = 0x03;
    /// Mask of the mapping type.
    pub const MAP_TYPE: u32 = 0x0f;
    /// Place the mapping exactly at the address, replacing what is there.
    pub const MAP_FIXED: u32 = 0x10;
    /// Not backed by a file.
    pub const MAP_ANONYMOUS: u32 = 0x20;
    /// Stack-like segment that grows down.
    pub const MAP_GROWSDOWN: u32 = 0x0100;
    /// Ignored.
    pub const MAP_DENYWRITE: u32 = 0x0800;
    /// Ignored.
    pub const MAP_EXECUTABLE: u32 = 0x1000;
    /// Lock the pages.
    pub const MAP_LOCKED: u32 = 0x2000;
    /// Do not reserve swap.
    pub const MAP_NORESERVE: u32 = 0x4000;
    /// Prefault the pages.
    pub const MAP_POPULATE: u32 = 0x8000;
    /// With `MAP_POPULATE`, do not block on I/O.
    pub const MAP_NONBLOCK: u32 = 0x1_0000;
    /// Suitable for a thread stack.
    pub const MAP_STACK: u32 = 0x2_0000;
    /// Use huge pages.
    pub const MAP_HUGETLB: u32 = 0x4_0000;
    /// Synchronous page faults for DAX (needs `MAP_SHARED_VALIDATE`).
    pub const MAP_SYNC: u32 = 0x8_0000;
    /// As `MAP_FIXED`, but fail with EEXIST instead of replacing.
    pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;
    /// Anonymous pages need not be cleared.
    pub const MAP_UNINITIALIZED: u32 = 0x400_0000;

    /// `mremap`: the mapping may move.
    pub const MREMAP_MAYMOVE: u32 = 1;
    /// `mremap`: move to the given new address.
    pub const MREMAP_FIXED: u32 = 2;
    /// `mremap`: leave the old range mapped.
    pub const MREMAP_DONTUNMAP: u32 = 4;

    /// `msync`: schedule the writes.
    pub const MS_ASYNC: u32 = 1;
    /// `msync`: invalidate other mappings.
    pub const MS_INVALIDATE: u32 = 2;
    /// `msync`: write and wait.
    pub const MS_SYNC: u32 = 4;

    /// `mlockall`: lock current mappings.
    pub const MCL_CURRENT: u32 = 1;
    /// `mlockall`: lock future mappings.
    pub const MCL_FUTURE: u32 = 2;
    /// `mlockall`: lock pages as they fault in.
    pub const MCL_ONFAULT: u32 = 4;
    /// `mlock2`: lock pages as they fault in.
    pub const MLOCK_ONFAULT: u32 = 1;

    /// No special treatment.
    pub const MADV_NORMAL: u32 = 0;
    /// Expect random access.
    pub const MADV_RANDOM: u32 = 1;
    /// Expect sequential access.
    pub const MADV_SEQUENTIAL: u32 = 2;
    /// Will need these pages.
    pub const MADV_WILLNEED: u32 = 3;
    /// Drop these pages; private anonymous ones read back as zero.
    pub const MADV_DONTNEED: u32 = 4;
    /// The pages may be freed lazily.
    pub const MADV_FREE: u32 = 8;
    /// Remove the pages and their backing store.
    pub const MADV_REMOVE: u32 = 9;
    /// Do not inherit across fork.
    pub const MADV_DONTFORK: u32 = 10;
    /// Inherit across fork.
    pub const MADV_DOFORK: u32 = 11;
    /// KSM may merge these pages.
    pub const MADV_MERGEABLE: u32 = 12;
    /// KSM may not merge these pages.
    pub const MADV_UNMERGEABLE: u32 = 13;
    /// Use transparent huge pages.
    pub const MADV_HUGEPAGE: u32 = 14;
    /// Do not use transparent huge pages.
    pub const MADV_NOHUGEPAGE: u32 = 15;
    /// Leave out of core dumps.
    pub const MADV_DONTDUMP: u32 = 16;
    /// Include in core dumps.
    pub const MADV_DODUMP: u32 = 17;
    /// Zero in the child after fork.
    pub const MADV_WIPEONFORK: u32 = 18;
    /// Undo `MADV_WIPEONFORK`.
    pub const MADV_KEEPONFORK: u32 = 19;
    /// Deactivate the pages.
    pub const MADV_COLD: u32 = 20;
    /// Reclaim the pages.
    pub const MADV_PAGEOUT: u32 = 21;
    /// Prefault readable.
    pub const MADV_POPULATE_READ: u32 = 22;
    /// Prefault writable.
    pub const MADV_POPULATE_WRITE: u32 = 23;
    /// As `MADV_DONTNEED`, also for locked pages.
    pub const MADV_DONTNEED_LOCKED: u32 = 24;
    /// Collapse into transparent huge pages.
    pub const MADV_COLLAPSE: u32 = 25;
    /// Poison the pages (testing).
    pub const MADV_HWPOISON: u32 = 100;
    /// Soft-offline the pages (testing).
    pub const MADV_SOFT_OFFLINE: u32 = 101;
}
