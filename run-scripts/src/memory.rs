//! Guest memory: the default size, and the smallest size a run can boot in.
//!
//! - **Default**: what a container without a memory limit gets, all the memory the
//!   host lets elfin have: the host's RAM, lowered by the memory limit of elfin's
//!   own cgroup (v2 `memory.max` or v1 `memory.limit_in_bytes`, up the hierarchy)
//!   and, under strict overcommit, by the commit room left. QEMU commits guest RAM
//!   as the guest touches it, so a large size costs nothing until it is used.
//! - **Minimum**: where the loaders put the kernel, the initrd and (arm64) the
//!   device tree, the same rules as QEMU's (below that QEMU loads the initrd over
//!   the kernel, or refuses), plus room for the kernel to start.

use std::fs;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::arch::Arch;

const MIB: u64 = 1 << 20;
/// Room the kernel needs beyond its image and the initrd to start and run a small
/// program: heap (grown 64 KiB at a time in a small VM), page tables, stacks, the
/// virtio console buffers, the vDSO, the program's pages and the reserve the kernel
/// keeps from programs (32 frames in a small VM). Measured in a 4 MiB x86_64 VM:
/// the kernel takes 352 KiB by the time it enters the program, a static glibc hello
/// (0.8 MB) 172 KiB more at its peak, and the reserve is 128 KiB: 652 KiB.
const START_ROOM: u64 = 3 * MIB / 4;
/// x86_64: base memory the kernel's frame allocator uses, from 64 KiB (below: the
/// BIOS data area and the AP trampoline) to the 639 KiB the memory map gives.
const X86_LOW_RAM: u64 = 0x9_fc00 - 0x1_0000;
/// x86_64: QEMU keeps ACPI data and the setup area at the top of low RAM, below
/// where it puts the initrd (128-160 KiB), with a margin.
const X86_TOP_RESERVE: u64 = 256 << 10;
/// arm64: QEMU `virt` puts the device tree (1 MiB) after the initrd, 2 MiB aligned.
const ARM_DTB_SIZE: u64 = MIB;
const ARM_DTB_ALIGN: u64 = 2 * MIB;
/// arm64: QEMU loads an Image at its `text_offset` into RAM, but one whose offset is
/// below the size of its boot stub (4 KiB) 2 MiB further up (hw/arm/boot.c,
/// `load_aarch64_image`); elfin's asks for 4 KiB.
const ARM_STUB_SIZE: u64 = 4096;

/// Where QEMU puts an Image of text offset `offset` (from the start of RAM).
fn arm_image_base(offset: u64) -> u64 {
    if offset < ARM_STUB_SIZE {
        2 * MIB + offset
    } else {
        offset
    }
}
/// Largest guest memory elfin sets by default (1 TiB, as `-m` accepts).
const MAX_DEFAULT_MIB: u64 = 1 << 20;
/// Smallest default, when the host's size cannot be read.
const FALLBACK_MIB: u64 = 1024;

/// The default guest memory in MiB (see the module docs).
pub fn default_mib() -> u64 {
    let meminfo = read_proc("/proc/meminfo").unwrap_or_default();
    let overcommit = read_proc("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    let cgroup = cgroup_limit(&read_proc("/proc/self/cgroup").unwrap_or_default(), |p| read_proc(p));
    host_limit_mib(&meminfo, overcommit.trim() == "2", cgroup)
}

/// A /proc or /sys file's text. These report a size of 0, so a plain
/// `read_to_string` starts from 32-byte reads and grows its buffer eight times for
/// /proc/meminfo; a page-sized buffer takes most of them in one read.
fn read_proc(path: impl AsRef<Path>) -> Option<String> {
    let mut text = String::with_capacity(4096);
    fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text)).ok()?;
    Some(text)
}

/// The default from the host's facts: `meminfo` is /proc/meminfo, `strict` says
/// overcommit mode 2, `cgroup` is the cgroup limit in bytes.
pub fn host_limit_mib(meminfo: &str, strict: bool, cgroup: Option<u64>) -> u64 {
    let field = |name: &str| -> Option<u64> {
        meminfo.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
            kib.checked_mul(1024)
        })
    };
    let Some(mut bytes) = field("MemTotal") else { return FALLBACK_MIB };
    if let Some(limit) = cgroup {
        bytes = bytes.min(limit);
    }
    if strict {
        if let (Some(limit), Some(committed)) = (field("CommitLimit"), field("Committed_AS")) {
            bytes = bytes.min(limit.saturating_sub(committed));
        }
    }
    (bytes / MIB).clamp(1, MAX_DEFAULT_MIB)
}

/// The memory limit of our cgroup and its ancestors, from /proc/self/cgroup text;
/// `read` reads a control file. None: no limit.
pub fn cgroup_limit(proc_self_cgroup: &str, read: impl Fn(&Path) -> Option<String>) -> Option<u64> {
    let mut limit: Option<u64> = None;
    let mut consider = |v: Option<String>| {
        // "max" (v2) or a near-2^63 page-rounded value (v1) mean no limit.
        if let Some(n) = v.and_then(|s| s.trim().parse::<u64>().ok()).filter(|&n| n < (1 << 62)) {
            limit = Some(limit.map_or(n, |l| l.min(n)));
        }
    };
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (root, file) = if id == "0" && controllers.is_empty() {
            (PathBuf::from("/sys/fs/cgroup"), "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            (PathBuf::from("/sys/fs/cgroup/memory"), "memory.limit_in_bytes")
        } else {
            continue;
        };
        let mut dir = root.clone();
        consider(read(&dir.join(file)));
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            dir.push(comp);
            consider(read(&dir.join(file)));
        }
    }
    limit
}

/// End of the kernel image in guest RAM, counted from the start of RAM: x86_64,
/// the end of the ELF's last PT_LOAD (physical); arm64, where QEMU loads the Image
/// (its `text_offset`, see [`arm_image_base`]) plus the larger of the Image
/// header's `image_size` and the file.
pub fn kernel_end(arch: Arch, image: &Path) -> Option<u64> {
    // Only the headers are read: the ELF header and program headers, or the
    // Image header (the x86_64 ELF is 16 MB with its symbols).
    let file = fs::File::open(image).ok()?;
    let len = file.metadata().ok()?.len();
    let mut head = [0u8; 64];
    file.read_exact_at(&mut head, 0).ok()?;
    let bytes = if head.starts_with(b"\x7fELF") {
        let phoff = u64::from_le_bytes(head[0x20..0x28].try_into().ok()?);
        let (phentsize, phnum) =
            (u16::from_le_bytes([head[0x36], head[0x37]]), u16::from_le_bytes([head[0x38], head[0x39]]));
        let end = phoff.checked_add(u64::from(phentsize) * u64::from(phnum))?.min(len);
        let mut b = vec![0u8; usize::try_from(end).ok()?];
        file.read_exact_at(&mut b, 0).ok()?;
        b
    } else {
        head.to_vec()
    };
    kernel_end_of(arch, &bytes, len)
}

/// [`kernel_end`] from the image's first bytes (at least its headers) and its
/// length.
fn kernel_end_of(arch: Arch, bytes: &[u8], len: u64) -> Option<u64> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(bytes.get(o..o + 8)?.try_into().ok()?));
    if bytes.starts_with(b"\x7fELF") {
        let phoff = usize::try_from(u64_at(0x20)?).ok()?;
        let (phentsize, phnum) = (usize::from(u16_at(0x36)?), usize::from(u16_at(0x38)?));
        let mut end = 0u64;
        for i in 0..phnum {
            let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
            if u32_at(ph)? == 1 {
                end = end.max(u64_at(ph + 0x18)?.checked_add(u64_at(ph + 0x28)?)?);
            }
        }
        // An ELF loaded at 0 is no PVH kernel image of ours; judge by size then.
        return (end > 0).then_some(end);
    }
    match arch {
        Arch::Aarch64 if bytes.get(56..60) == Some(b"ARM\x64") => {
            let offset = u64_at(8)?;
            u64_at(16).filter(|&s| s > 0).map(|s| arm_image_base(offset) + s.max(len))
        }
        _ => Some(len),
    }
}

/// The smallest guest memory, in MiB, that boots a kernel ending at `kernel_end`
/// with an initrd of `initrd` bytes.
pub fn minimum_mib(arch: Arch, kernel_end: u64, initrd: u64) -> u64 {
    match arch {
        // PVH loaders (QEMU, Firecracker, Cloud Hypervisor) put the kernel at its
        // physical addresses and the initrd at the top of low RAM; the kernel also
        // uses base memory below 640 KiB.
        Arch::X86_64 => {
            let loads = kernel_end + initrd + X86_TOP_RESERVE;
            let runs = (kernel_end + initrd + START_ROOM).saturating_sub(X86_LOW_RAM);
            loads.max(runs).div_ceil(MIB)
        }
        Arch::Aarch64 => (1..=MAX_DEFAULT_MIB)
            .find(|&m| arm_fits(m * MIB, kernel_end, initrd) && kernel_end + initrd + START_ROOM <= m * MIB)
            .unwrap_or(1),
    }
}

/// QEMU `virt` (hw/arm/boot.c): the Image 2 MiB into RAM, the initrd at half of
/// RAM (at most 128 MiB in) or after the image, whichever is higher, and the
/// device tree after the initrd, 2 MiB aligned, inside RAM.
fn arm_fits(ram: u64, kernel_end: u64, initrd: u64) -> bool {
    let start = (ram / 2).min(128 * MIB).max(kernel_end).next_multiple_of(4096);
    let dtb = (start + initrd).next_multiple_of(ARM_DTB_ALIGN);
    dtb + ARM_DTB_SIZE <= ram
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       24683792 kB\nMemFree:  1 kB\nCommitLimit:    12341896 kB\n\
                           Committed_AS:     753652 kB\n";

    #[test]
    fn default_is_the_host_memory_under_its_limits() {
        assert_eq!(host_limit_mib(MEMINFO, false, None), 24683792 / 1024);
        assert_eq!(host_limit_mib(MEMINFO, false, Some(2 << 30)), 2048);
        assert_eq!(host_limit_mib(MEMINFO, true, None), (12341896 - 753652) / 1024);
        assert_eq!(host_limit_mib("", false, None), FALLBACK_MIB);
    }

    #[test]
    fn cgroup_limits_v1_and_v2() {
        let files = |p: &Path| match p.to_str()? {
            "/sys/fs/cgroup/memory.max" => Some("max\n".to_string()),
            "/sys/fs/cgroup/a/memory.max" => Some("1073741824\n".to_string()),
            "/sys/fs/cgroup/a/b/memory.max" => Some("max\n".to_string()),
            "/sys/fs/cgroup/memory/memory.limit_in_bytes" => Some("9223372036854771712\n".to_string()),
            "/sys/fs/cgroup/memory/x/memory.limit_in_bytes" => Some("536870912\n".to_string()),
            _ => None,
        };
        assert_eq!(cgroup_limit("0::/a/b\n", files), Some(1 << 30));
        assert_eq!(cgroup_limit("4:memory:/x\n0::/\n", files), Some(512 << 20));
        assert_eq!(cgroup_limit("4:memory:/\n0::/\n", files), None);
        assert_eq!(cgroup_limit("garbage", files), None);
    }

    #[test]
    fn x86_minimum_matches_what_boots() {
        // Kernel to 2.72 MiB, hello's 0.81 MB initrd: ran at 3.7M (86 frames free at
        // the program's entry; it took 43 at its peak, and the reserve is 32) and 4M.
        let k = 0x2b75f0;
        assert_eq!(minimum_mib(Arch::X86_64, k, 813_936), 4);
        assert_eq!(minimum_mib(Arch::X86_64, k, 3_800_000), 7);
    }

    #[test]
    fn arm_image_placement() {
        assert_eq!(arm_image_base(0), 2 * MIB);
        assert_eq!(arm_image_base(0x1000), 0x1000);
        assert_eq!(arm_image_base(0x80000), 0x80000);
    }

    #[test]
    fn arm_minimum_matches_what_qemu_loads() {
        // An Image of 1.34 MiB (bss included) at 4 KiB: hello's 0.8 MB initrd ran at
        // 5M; at 4M QEMU found no room for the device tree.
        let k = arm_image_base(0x1000) + 0x156000;
        assert_eq!(minimum_mib(Arch::Aarch64, k, 810_408), 5);
        // The same Image at 2 MiB (text offset 0): QEMU refused a 0.9 MB initrd at
        // 6M and loaded it at 7M; a 0.1 MB one at 5M; a 2.5 MB one at 7M, not 6M.
        let k = arm_image_base(0) + 0x156000;
        assert_eq!(minimum_mib(Arch::Aarch64, k, 900_000), 7);
        assert_eq!(minimum_mib(Arch::Aarch64, k, 100_000), 5);
        assert_eq!(minimum_mib(Arch::Aarch64, k, 2_500_000), 7);
    }
}
