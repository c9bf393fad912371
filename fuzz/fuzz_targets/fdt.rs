//! The `fdt` crate as elfin's arm64 boot code uses it (plat/src/aarch64/boot.rs, which
//! only builds for the bare-metal target): the same lookups in the same order on any
//! bytes. A crash here is a crash of the kernel at boot on that device tree.
//! (`Fdt::from_ptr`, which boot.rs uses, trusts the header's size; this takes the
//! bytes as a slice, so it covers the parsing after that.)
//!
//! fdt 0.1.5 slices its blocks with the header's offsets unchecked, so any header
//! whose `off_mem_rsvmap`, `off_dt_struct + size_dt_struct` or `off_dt_strings +
//! size_dt_strings` point past the blob panics (lib.rs:244 and :413). The first
//! minutes of fuzzing find only those; `FDT_CHECK_HEADER=1` skips such blobs (the
//! check boot.rs would need) so that the parsing behind them gets fuzzed too.
#![no_main]

use fdt::node::FdtNode;
use fdt::Fdt;
use libfuzzer_sys::fuzz_target;

const PL011: &[&str] = &["arm,pl011"];
const NS16550: &[&str] = &["ns16550a", "ns16550", "snps,dw-apb-uart"];

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i * 4..i * 4 + 4)?.try_into().ok()?))
}

fn first_reg(node: FdtNode<'_, '_>) -> Option<(u64, u64)> {
    let r = node.reg()?.next()?;
    Some((r.starting_address as u64, r.size.unwrap_or(0) as u64))
}

fn compatible_with(node: FdtNode<'_, '_>, names: &[&str]) -> bool {
    node.compatible().map(|c| c.all().any(|s| names.contains(&s))).unwrap_or(false)
}

/// The header's blocks lie inside `data` (big-endian u32 fields of `struct fdt_header`).
fn header_in_bounds(data: &[u8]) -> bool {
    let field = |i: usize| be32(data, i).map(|v| v as usize);
    let (Some(total), Some(st_off), Some(str_off), Some(rsv_off), Some(str_size), Some(st_size)) =
        (field(1), field(2), field(3), field(4), field(8), field(9))
    else {
        return false;
    };
    let fits = |off: usize, size: usize| off.checked_add(size).is_some_and(|end| end <= data.len());
    total <= data.len() && fits(st_off, st_size) && fits(str_off, str_size) && rsv_off < data.len()
}

fuzz_target!(|data: &[u8]| {
    static CHECK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *CHECK.get_or_init(|| std::env::var_os("FDT_CHECK_HEADER").is_some()) && !header_in_bounds(data) {
        return;
    }
    let Ok(fdt) = Fdt::new(data) else { return };

    // setup_console
    let chosen = fdt.find_node("/chosen");
    let stdout = chosen
        .and_then(|c| c.property("stdout-path"))
        .and_then(|p| p.as_str())
        .and_then(|s| s.split(':').next())
        .and_then(|path| fdt.find_node(path))
        .filter(|n| compatible_with(*n, PL011) || compatible_with(*n, NS16550));
    let node = stdout.or_else(|| fdt.find_compatible(PL011)).or_else(|| fdt.find_compatible(NS16550));
    if let Some(node) = node {
        let _ = first_reg(node);
        let _ = node.property("reg-shift").and_then(|p| p.as_usize());
        let _ = node.property("reg-io-width").and_then(|p| p.as_usize());
    }

    // boot_main: reservations
    let mut reserved = Vec::new();
    for r in fdt.memory_reservations() {
        reserved.push((r.address() as u64, r.size() as u64));
    }
    if let Some(rm) = fdt.find_node("/reserved-memory") {
        for child in rm.children() {
            if let Some(regs) = child.reg() {
                for r in regs {
                    reserved.push((r.starting_address as u64, r.size.unwrap_or(0) as u64));
                }
            }
        }
    }

    // boot_main: the pass over all nodes
    for node in fdt.all_nodes() {
        if node.property("device_type").and_then(|p| p.as_str()) == Some("memory") {
            if let Some(regs) = node.reg() {
                for r in regs {
                    let _ = (r.starting_address as u64, r.size.unwrap_or(0) as u64);
                }
            }
            continue;
        }
        let Some(compat) = node.compatible() else { continue };
        let is = |names: &[&str]| compat.all().any(|c| names.contains(&c));
        if is(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]) {
            let _ = node.property("method").and_then(|p| p.as_str());
        } else if is(&["arm,pl031"]) {
            let _ = first_reg(node);
        } else if is(&["arm,gic-v3"]) {
            if let Some(mut regs) = node.reg() {
                let _ = (regs.next(), regs.next());
            }
        } else if is(&["arm,armv8-timer", "arm,armv7-timer"]) {
            if let Some(v) = node.property("interrupts").map(|p| p.value) {
                let _ = (be32(v, 6), be32(v, 7));
            }
        }
    }

    // boot_main: /chosen and /cpus
    if let Some(chosen) = fdt.find_node("/chosen") {
        if let Some(p) = chosen.property("bootargs") {
            let _ = p.value.last();
        }
        let _ = chosen.property("linux,initrd-start").and_then(|p| p.as_usize());
        let _ = chosen.property("linux,initrd-end").and_then(|p| p.as_usize());
    }
    let _ = fdt.total_size();
    if let Some(cpus) = fdt.find_node("/cpus") {
        let _ = cpus.children().filter(|c| c.name.split('@').next() == Some("cpu")).count();
    }
});
