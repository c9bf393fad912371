//! `elfin_kcore::fdt`, the device-tree reader of elfin's arm64 boot code
//! (plat/src/aarch64/boot.rs), on any bytes: the header check, the reservations,
//! one walk over every node and property, and the property decoders boot.rs
//! applies (`reg` with every cell count it may meet, numbers, strings,
//! string lists). A panic here would be a kernel panic at boot on that device
//! tree; a malformed tree must come back as an `FdtError`.
#![no_main]

use elfin_kcore::fdt::{self, Event, Fdt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fdt::total_size(data);
    let Ok(tree) = Fdt::new(data) else { return };
    let _ = tree.size();
    for r in tree.reservations() {
        let _ = r;
    }
    let _ = tree.walk(|ev| match ev {
        Event::Begin { depth, name } => {
            let _ = (depth, name.len());
        }
        Event::Prop { name, value, .. } => {
            let _ = name.bytes();
            let _ = name.is(b"reg");
            for (ac, sc) in [(1, 1), (2, 2), (2, 1), (1, 0), (3, 2)] {
                for e in fdt::reg_entries(value, ac, sc) {
                    let _ = e;
                }
            }
            let _ = (fdt::u32_at(value, 0), fdt::u32_at(value, 7), fdt::number(value), fdt::string(value));
            let _ = fdt::list_has(value, &[b"arm,pl011", b"ns16550a", b"arm,gic-v3"]);
        }
        Event::End { depth } => {
            let _ = depth;
        }
    });
});
