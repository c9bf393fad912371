//! Auxiliary vector keys (`AT_*`), as in Linux's `include/uapi/linux/auxvec.h` and the
//! per-arch `asm/auxvec.h` (values checked against glibc's `bits/auxv.h`).

/// End of the vector.
pub const AT_NULL: u64 = 0;
/// Entry to be ignored.
pub const AT_IGNORE: u64 = 1;
/// File descriptor of the program (binfmt_misc `O` flag).
pub const AT_EXECFD: u64 = 2;
/// Address of the program headers.
pub const AT_PHDR: u64 = 3;
/// Size of one program header.
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// System page size.
pub const AT_PAGESZ: u64 = 6;
/// Base address of the interpreter (0 for a static program).
pub const AT_BASE: u64 = 7;
/// Flags (`AT_FLAGS_PRESERVE_ARGV0`).
pub const AT_FLAGS: u64 = 8;
/// Entry point of the program.
pub const AT_ENTRY: u64 = 9;
/// Program is not ELF.
pub const AT_NOTELF: u64 = 10;
/// Real user id.
pub const AT_UID: u64 = 11;
/// Effective user id.
pub const AT_EUID: u64 = 12;
/// Real group id.
pub const AT_GID: u64 = 13;
/// Effective group id.
pub const AT_EGID: u64 = 14;
/// Address of the platform string (`x86_64`, `aarch64`).
pub const AT_PLATFORM: u64 = 15;
/// CPU capability bits.
pub const AT_HWCAP: u64 = 16;
/// Frequency of `times()` (100).
pub const AT_CLKTCK: u64 = 17;
/// FPU control word (SuperH).
pub const AT_FPUCW: u64 = 18;
/// Data cache block size (PowerPC).
pub const AT_DCACHEBSIZE: u64 = 19;
/// Instruction cache block size (PowerPC).
pub const AT_ICACHEBSIZE: u64 = 20;
/// Unified cache block size (PowerPC).
pub const AT_UCACHEBSIZE: u64 = 21;
/// Entry to be ignored (PowerPC).
pub const AT_IGNOREPPC: u64 = 22;
/// Secure mode (setuid-like): 0 or 1.
pub const AT_SECURE: u64 = 23;
/// Address of the real platform string.
pub const AT_BASE_PLATFORM: u64 = 24;
/// Address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// More CPU capability bits.
pub const AT_HWCAP2: u64 = 26;
/// Supported `struct rseq` feature size.
pub const AT_RSEQ_FEATURE_SIZE: u64 = 27;
/// Required `struct rseq` alignment.
pub const AT_RSEQ_ALIGN: u64 = 28;
/// Third word of CPU capability bits.
pub const AT_HWCAP3: u64 = 29;
/// Fourth word of CPU capability bits.
pub const AT_HWCAP4: u64 = 30;
/// Address of the program's path string.
pub const AT_EXECFN: u64 = 31;
/// Entry of the vsyscall page (i386 only).
pub const AT_SYSINFO: u64 = 32;
/// Address of the vDSO ELF header.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// L1 instruction cache shape (PowerPC).
pub const AT_L1I_CACHESHAPE: u64 = 34;
/// L1 data cache shape (PowerPC).
pub const AT_L1D_CACHESHAPE: u64 = 35;
/// L2 cache shape (PowerPC).
pub const AT_L2_CACHESHAPE: u64 = 36;
/// L3 cache shape (PowerPC).
pub const AT_L3_CACHESHAPE: u64 = 37;
/// L1 instruction cache size.
pub const AT_L1I_CACHESIZE: u64 = 40;
/// L1 instruction cache geometry.
pub const AT_L1I_CACHEGEOMETRY: u64 = 41;
/// L1 data cache size.
pub const AT_L1D_CACHESIZE: u64 = 42;
/// L1 data cache geometry.
pub const AT_L1D_CACHEGEOMETRY: u64 = 43;
/// L2 cache size.
pub const AT_L2_CACHESIZE: u64 = 44;
/// L2 cache geometry.
pub const AT_L2_CACHEGEOMETRY: u64 = 45;
/// L3 cache size.
pub const AT_L3_CACHESIZE: u64 = 46;
/// L3 cache geometry.
pub const AT_L3_CACHEGEOMETRY: u64 = 47;
/// Minimal stack size for signal delivery.
pub const AT_MINSIGSTKSZ: u64 = 51;

/// `AT_FLAGS` bit: the interpreter keeps `argv[0]` as given.
pub const AT_FLAGS_PRESERVE_ARGV0: u64 = 1;

/// The name of an `AT_*` key (for logs and `strace`), or `None` if unknown.
pub const fn name(key: u64) -> Option<&'static str> {
    Some(match key {
        AT_NULL => "AT_NULL",
        AT_IGNORE => "AT_IGNORE",
        AT_EXECFD => "AT_EXECFD",
        AT_PHDR => "AT_PHDR",
        AT_PHENT => "AT_PHENT",
        AT_PHNUM => "AT_PHNUM",
        AT_PAGESZ => "AT_PAGESZ",
        AT_BASE => "AT_BASE",
        AT_FLAGS => "AT_FLAGS",
        AT_ENTRY => "AT_ENTRY",
        AT_NOTELF => "AT_NOTELF",
        AT_UID => "AT_UID",
        AT_EUID => "AT_EUID",
        AT_GID => "AT_GID",
        AT_EGID => "AT_EGID",
        AT_PLATFORM => "AT_PLATFORM",
        AT_HWCAP => "AT_HWCAP",
        AT_CLKTCK => "AT_CLKTCK",
        AT_FPUCW => "AT_FPUCW",
        AT_DCACHEBSIZE => "AT_DCACHEBSIZE",
        AT_ICACHEBSIZE => "AT_ICACHEBSIZE",
        AT_UCACHEBSIZE => "AT_UCACHEBSIZE",
        AT_IGNOREPPC => "AT_IGNOREPPC",
        AT_SECURE => "AT_SECURE",
        AT_BASE_PLATFORM => "AT_BASE_PLATFORM",
        AT_RANDOM => "AT_RANDOM",
        AT_HWCAP2 => "AT_HWCAP2",
        AT_RSEQ_FEATURE_SIZE => "AT_RSEQ_FEATURE_SIZE",
        AT_RSEQ_ALIGN => "AT_RSEQ_ALIGN",
        AT_HWCAP3 => "AT_HWCAP3",
        AT_HWCAP4 => "AT_HWCAP4",
        AT_EXECFN => "AT_EXECFN",
        AT_SYSINFO => "AT_SYSINFO",
        AT_SYSINFO_EHDR => "AT_SYSINFO_EHDR",
        AT_L1I_CACHESHAPE => "AT_L1I_CACHESHAPE",
        AT_L1D_CACHESHAPE => "AT_L1D_CACHESHAPE",
        AT_L2_CACHESHAPE => "AT_L2_CACHESHAPE",
        AT_L3_CACHESHAPE => "AT_L3_CACHESHAPE",
        AT_L1I_CACHESIZE => "AT_L1I_CACHESIZE",
        AT_L1I_CACHEGEOMETRY => "AT_L1I_CACHEGEOMETRY",
        AT_L1D_CACHESIZE => "AT_L1D_CACHESIZE",
        AT_L1D_CACHEGEOMETRY => "AT_L1D_CACHEGEOMETRY",
        AT_L2_CACHESIZE => "AT_L2_CACHESIZE",
        AT_L2_CACHEGEOMETRY => "AT_L2_CACHEGEOMETRY",
        AT_L3_CACHESIZE => "AT_L3_CACHESIZE",
        AT_L3_CACHEGEOMETRY => "AT_L3_CACHEGEOMETRY",
        AT_MINSIGSTKSZ => "AT_MINSIGSTKSZ",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux_uapi() {
        // Spot checks against include/uapi/linux/auxvec.h.
        assert_eq!((AT_PHDR, AT_ENTRY, AT_PLATFORM, AT_HWCAP), (3, 9, 15, 16));
        assert_eq!((AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN), (23, 25, 26, 31));
        assert_eq!((AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN, AT_HWCAP3, AT_HWCAP4), (27, 28, 29, 30));
        assert_eq!((AT_SYSINFO_EHDR, AT_MINSIGSTKSZ), (33, 51));
    }

    #[test]
    fn names() {
        assert_eq!(name(AT_RANDOM), Some("AT_RANDOM"));
        assert_eq!(name(AT_MINSIGSTKSZ), Some("AT_MINSIGSTKSZ"));
        assert_eq!(name(38), None);
        assert_eq!(name(u64::MAX), None);
        for key in 0..64 {
            if let Some(n) = name(key) {
                assert!(n.starts_with("AT_"));
            }
        }
    }
}
