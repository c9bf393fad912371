//! `build_stack`: the initial user stack, laid out exactly as Linux lays it out.
//!
//! From `stack_top` down (fs/exec.c `__bprm_mm_init`, `do_execveat_common`, then
//! fs/binfmt_elf.c `create_elf_tables`):
//!
//! ```text
//! stack_top  ->  8 zero bytes                  (bprm->p = vm_end - sizeof(void *))
//!                execfn\0                      (AT_EXECFN points here)
//!                envp[envc-1]\0 ... envp[0]\0
//!                argv[argc-1]\0 ... argv[0]\0  (argv[0] lowest)
//!                padding to 16 bytes           (arch_align_stack, without its random shift)
//!                platform\0                    (AT_PLATFORM points here; omitted if empty)
//!                16 random bytes               (AT_RANDOM points here)
//!                padding so that sp is 16-byte aligned
//!                auxv pairs ..., AT_NULL 0
//!                NULL, envp pointers
//!                NULL, argv pointers
//! sp         ->  argc
//! ```
//!
//! The auxiliary vector holds the caller's pairs in the caller's order, then
//! `AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM` (in Linux's relative order), then `AT_NULL`.
//! Linux moves the string area down by a random amount below 8 KiB on x86_64; here the
//! caller randomises `stack_top` instead.

use alloc::vec;
use alloc::vec::Vec;

use crate::auxv::{AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM};
use crate::error::{LoadError, StackString};

/// Longest string (with its NUL) Linux accepts in argv or envp (`MAX_ARG_STRLEN`).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Size of one stack word (both supported architectures are 64-bit).
const WORD: u64 = 8;
/// Stack pointer alignment required by both ABIs at process entry.
const STACK_ALIGN: u64 = 16;

/// The bytes of an initial stack and where they start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    /// Contents of `[sp, stack_top)`, to be copied there.
    pub bytes: Vec<u8>,
    /// Initial stack pointer: 16-byte aligned, pointing at `argc`.
    pub sp: u64,
    /// The auxiliary vector as written, key and value pairs up to and with `AT_NULL`
    /// (what `/proc/PID/auxv` shows).
    pub auxv: Vec<u64>,
    /// Where the argument strings lie, `[start, end)`, NULs included.
    pub args: core::ops::Range<u64>,
    /// Where the environment strings lie, right after the arguments.
    pub env: core::ops::Range<u64>,
}

/// What goes on the initial stack.
#[derive(Clone, Copy, Debug)]
pub struct StackArgs<'a> {
    /// Argument strings without NUL; empty means `[""]`, as Linux does since 5.18.
    pub argv: &'a [&'a [u8]],
    /// Environment strings (`KEY=VALUE`) without NUL.
    pub envp: &'a [&'a [u8]],
    /// Program path for `AT_EXECFN`, placed at the very top.
    pub execfn: &'a [u8],
    /// `AT_PLATFORM` string (`x86_64`, `aarch64`); empty leaves `AT_PLATFORM` out.
    pub platform: &'a [u8],
    /// The 16 bytes `AT_RANDOM` points at.
    pub random: [u8; 16],
    /// Other auxv pairs (`AT_PHDR`, `AT_ENTRY`, `AT_HWCAP`, ...), in this order.
    pub auxv: &'a [(u64, u64)],
}

/// Build the initial stack below `stack_top` (16-byte aligned, usually page-aligned).
///
/// Fails like Linux's `execve` with `E2BIG` ([`LoadError::is_e2big`]) when a string is
/// longer than [`MAX_ARG_STRLEN`] or the whole image exceeds `max_size` bytes.
pub fn build_stack(stack_top: u64, args: &StackArgs<'_>, max_size: usize) -> Result<StackImage, LoadError> {
    if !stack_top.is_multiple_of(STACK_ALIGN) {
        return Err(LoadError::BadStackTop { top: stack_top });
    }
    const EMPTY_ARGV: &[&[u8]] = &[b""];
    let argv = if args.argv.is_empty() { EMPTY_ARGV } else { args.argv };
    let envp = args.envp;

    for (i, s) in argv.iter().enumerate() {
        check_string(StackString::Argv(i), s)?;
    }
    for (i, s) in envp.iter().enumerate() {
        check_string(StackString::Envp(i), s)?;
    }
    check_string(StackString::Execfn, args.execfn)?;
    check_string(StackString::Platform, args.platform)?;
    if let Some(&(key, _)) = args.auxv.iter().find(|(k, _)| matches!(*k, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM))
    {
        return Err(LoadError::ReservedAuxv { key });
    }

    // Work out the layout as distances below stack_top.
    let too_big = LoadError::ArgumentListTooLong { needed: u64::MAX, limit: max_size };
    let mut down = Down { at: WORD, err: too_big.clone() };
    let execfn_at = down.string(args.execfn)?;
    let mut env_at = vec![0u64; envp.len()];
    for (slot, s) in env_at.iter_mut().zip(envp).rev() {
        *slot = down.string(s)?;
    }
    let mut arg_at = vec![0u64; argv.len()];
    for (slot, s) in arg_at.iter_mut().zip(argv).rev() {
        *slot = down.string(s)?;
    }
    down.align(STACK_ALIGN)?;
    let platform_at = if args.platform.is_empty() { None } else { Some(down.string(args.platform)?) };
    let random_at = down.take(args.random.len() as u64)?;

    let extra_aux = if platform_at.is_some() { 4 } else { 3 }; // RANDOM, EXECFN, [PLATFORM], NULL
    let aux_pairs = (args.auxv.len() as u64).checked_add(extra_aux).ok_or_else(|| too_big.clone())?;
    let words = [argv.len() as u64, 1, envp.len() as u64, 1, 1]
        .iter()
        .try_fold(0u64, |acc, &n| acc.checked_add(n))
        .and_then(|n| n.checked_add(aux_pairs.checked_mul(2)?))
        .ok_or_else(|| too_big.clone())?;
    down.take(words.checked_mul(WORD).ok_or_else(|| too_big.clone())?)?;
    down.align(STACK_ALIGN)?;
    let size = down.at;

    let needed_fits = usize::try_from(size).is_ok_and(|s| s <= max_size);
    if !needed_fits {
        return Err(LoadError::ArgumentListTooLong { needed: size, limit: max_size });
    }
    let sp = stack_top.checked_sub(size).ok_or(LoadError::BadStackTop { top: stack_top })?;

    // Fill it in. Every offset below is inside the buffer by construction; `Image`
    // still checks, so a mistake here is an error, not a panic.
    let mut img = Image { bytes: vec![0u8; usize::try_from(size).unwrap_or(0)], size, top: stack_top };
    img.put(execfn_at, args.execfn)?;
    for (&at, s) in env_at.iter().zip(envp).chain(arg_at.iter().zip(argv)) {
        img.put(at, s)?;
    }
    if let Some(at) = platform_at {
        img.put(at, args.platform)?;
    }
    img.put(random_at, &args.random)?;

    // The words start at `sp`, the image's first byte. They are gathered as numbers
    // and copied in at once: stored one by one into bytes of unknown alignment, each
    // took eight byte stores on strict-alignment CPUs.
    let mut w: Vec<u64> = Vec::with_capacity(usize::try_from(words).unwrap_or(0));
    w.push(argv.len() as u64);
    w.extend(arg_at.iter().map(|&at| stack_top.wrapping_sub(at)));
    w.push(0);
    w.extend(env_at.iter().map(|&at| stack_top.wrapping_sub(at)));
    w.push(0);
    let auxv_at = w.len();
    for &(key, value) in args.auxv {
        w.extend_from_slice(&[key, value]);
    }
    w.extend_from_slice(&[AT_RANDOM, stack_top.wrapping_sub(random_at)]);
    w.extend_from_slice(&[AT_EXECFN, stack_top.wrapping_sub(execfn_at)]);
    if let Some(at) = platform_at {
        w.extend_from_slice(&[AT_PLATFORM, stack_top.wrapping_sub(at)]);
    }
    w.extend_from_slice(&[AT_NULL, 0]);
    // In the CPU's own byte order, which is the program's.
    let word_bytes: &[u8] = bytemuck::cast_slice(&w);
    let slots = img.bytes.get_mut(..word_bytes.len()).ok_or(LoadError::BadStackTop { top: stack_top })?;
    if w.len() as u64 != words {
        return Err(LoadError::BadStackTop { top: stack_top });
    }
    slots.copy_from_slice(word_bytes);
    let auxv = w.split_off(auxv_at);
    // The strings of each list lie in order, one after the other: the first one's
    // start and the lengths give the whole area (inside the image: nothing wraps).
    let area = |at: &[u64], list: &[&[u8]], from: u64| {
        let start = at.first().map_or(from, |&a| stack_top.wrapping_sub(a));
        start..list.iter().fold(start, |end, s| end.wrapping_add(s.len() as u64).wrapping_add(1))
    };
    let args = area(&arg_at, argv, stack_top);
    let env = area(&env_at, envp, args.end);
    Ok(StackImage { bytes: img.bytes, sp, auxv, args, env })
}

/// Reject NUL bytes and strings Linux would refuse with `E2BIG`.
fn check_string(which: StackString, s: &[u8]) -> Result<(), LoadError> {
    if s.contains(&0) {
        return Err(LoadError::NulInString { which });
    }
    if s.len() >= MAX_ARG_STRLEN {
        return Err(LoadError::StringTooLong { which, len: s.len() });
    }
    Ok(())
}

/// A cursor moving down from the stack top, counting bytes used.
struct Down {
    /// Bytes used below the top so far.
    at: u64,
    /// The error to give on overflow.
    err: LoadError,
}

impl Down {
    /// Reserve `n` bytes; returns their distance below the top.
    fn take(&mut self, n: u64) -> Result<u64, LoadError> {
        self.at = self.at.checked_add(n).ok_or_else(|| self.err.clone())?;
        Ok(self.at)
    }

    /// Reserve room for `s` and its NUL.
    fn string(&mut self, s: &[u8]) -> Result<u64, LoadError> {
        let n = (s.len() as u64).checked_add(1).ok_or_else(|| self.err.clone())?;
        self.take(n)
    }

    /// Round the distance up so that the address is `align`-aligned (top is aligned).
    fn align(&mut self, align: u64) -> Result<(), LoadError> {
        let mask = align.wrapping_sub(1);
        self.at = self.at.checked_add(mask).ok_or_else(|| self.err.clone())? & !mask;
        Ok(())
    }
}

/// The stack image being filled, addressed by distance below the top.
struct Image {
    /// `[sp, top)`.
    bytes: Vec<u8>,
    /// `top - sp`.
    size: u64,
    /// The stack top (for error messages).
    top: u64,
}

impl Image {
    /// Copy `data` to `top - down`.
    fn put(&mut self, down: u64, data: &[u8]) -> Result<(), LoadError> {
        let err = LoadError::BadStackTop { top: self.top };
        let start = self.size.checked_sub(down).and_then(|s| usize::try_from(s).ok());
        let end = start.and_then(|s| s.checked_add(data.len()));
        let (Some(start), Some(end)) = (start, end) else {
            return Err(err);
        };
        self.bytes.get_mut(start..end).ok_or(err)?.copy_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
// Tests compute expected values from small constants; checked arithmetic there
// would only obscure them. (unwrap, expect and indexing in tests: clippy.toml.)
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::auxv::{AT_ENTRY, AT_HWCAP, AT_PAGESZ, AT_PHDR};
    use alloc::vec::Vec;

    /// A decoded initial stack, read back from the image the way a libc `_start` does.
    #[derive(Debug)]
    struct Decoded {
        argv: Vec<(u64, Vec<u8>)>,
        envp: Vec<(u64, Vec<u8>)>,
        auxv: Vec<(u64, u64)>,
        /// Address just past the AT_NULL pair.
        auxv_end: u64,
    }

    fn word(img: &StackImage, addr: u64) -> u64 {
        let off = (addr - img.sp) as usize;
        u64::from_le_bytes(img.bytes[off..off + 8].try_into().unwrap())
    }

    fn cstr(img: &StackImage, addr: u64) -> Vec<u8> {
        let off = (addr - img.sp) as usize;
        let rest = &img.bytes[off..];
        let nul = rest.iter().position(|&b| b == 0).expect("string is NUL-terminated");
        rest[..nul].to_vec()
    }

    fn decode(img: &StackImage) -> Decoded {
        let mut at = img.sp;
        let argc = word(img, at);
        at += 8;
        let mut argv = Vec::new();
        for _ in 0..argc {
            let p = word(img, at);
            argv.push((p, cstr(img, p)));
            at += 8;
        }
        assert_eq!(word(img, at), 0, "argv is NULL-terminated");
        at += 8;
        let mut envp = Vec::new();
        loop {
            let p = word(img, at);
            at += 8;
            if p == 0 {
                break;
            }
            envp.push((p, cstr(img, p)));
        }
        let mut auxv = Vec::new();
        loop {
            let (k, v) = (word(img, at), word(img, at + 8));
            at += 16;
            auxv.push((k, v));
            if k == AT_NULL {
                break;
            }
        }
        Decoded { argv, envp, auxv, auxv_end: at }
    }

    fn aux(d: &Decoded, key: u64) -> u64 {
        let hits: Vec<_> = d.auxv.iter().filter(|(k, _)| *k == key).collect();
        assert_eq!(hits.len(), 1, "exactly one {key}");
        hits[0].1
    }

    const TOP: u64 = 0x7fff_ffff_f000;

    fn sample<'a>(argv: &'a [&'a [u8]], envp: &'a [&'a [u8]], auxv: &'a [(u64, u64)]) -> StackArgs<'a> {
        StackArgs { argv, envp, execfn: b"/app/hello", platform: b"x86_64", random: *b"0123456789abcdef", auxv }
    }

    #[test]
    fn round_trip() {
        let argv: &[&[u8]] = &[b"/app/hello", b"-v", b"", b"last arg"];
        let envp: &[&[u8]] = &[b"HOME=/", b"PATH=/bin:/usr/bin", b"X="];
        let auxv = [(AT_PHDR, 0x5555_5555_4040), (AT_PAGESZ, 4096), (AT_ENTRY, 0x5555_5555_5000)];
        let img = build_stack(TOP, &sample(argv, envp, &auxv), 1 << 20).unwrap();
        assert_eq!(img.sp % 16, 0);
        assert_eq!(img.sp + img.bytes.len() as u64, TOP);
        let d = decode(&img);
        let got: Vec<&[u8]> = d.argv.iter().map(|(_, s)| s.as_slice()).collect();
        assert_eq!(got, argv);
        let got: Vec<&[u8]> = d.envp.iter().map(|(_, s)| s.as_slice()).collect();
        assert_eq!(got, envp);

        // Caller's pairs first, in order, then RANDOM, EXECFN, PLATFORM, NULL.
        let keys: Vec<u64> = d.auxv.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, [AT_PHDR, AT_PAGESZ, AT_ENTRY, AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL]);
        assert_eq!(&d.auxv[..3], &auxv);
        assert_eq!(*d.auxv.last().unwrap(), (AT_NULL, 0));
        // The vector handed back is the one on the stack.
        let flat: Vec<u64> = d.auxv.iter().flat_map(|&(k, v)| [k, v]).collect();
        assert_eq!(img.auxv, flat);

        let random = aux(&d, AT_RANDOM);
        let off = (random - img.sp) as usize;
        assert_eq!(&img.bytes[off..off + 16], b"0123456789abcdef");
        assert_eq!(cstr(&img, aux(&d, AT_EXECFN)), b"/app/hello");
        assert_eq!(cstr(&img, aux(&d, AT_PLATFORM)), b"x86_64");
    }

    #[test]
    fn linux_order_and_positions() {
        let argv: &[&[u8]] = &[b"a0", b"a1", b"a2"];
        let envp: &[&[u8]] = &[b"E0=0", b"E1=1"];
        let img = build_stack(TOP, &sample(argv, envp, &[]), 1 << 20).unwrap();
        let d = decode(&img);
        // The top pointer-sized slot is zero, and execfn ends right below it.
        assert_eq!(word(&img, TOP - 8), 0);
        let execfn = aux(&d, AT_EXECFN);
        assert_eq!(execfn + b"/app/hello\0".len() as u64, TOP - 8);
        // Strings are packed: argv[0] lowest, then the rest of argv, then envp, then execfn.
        let mut expect = d.argv[0].0;
        for (addr, s) in d.argv.iter().chain(&d.envp) {
            assert_eq!(*addr, expect);
            expect += s.len() as u64 + 1;
        }
        assert_eq!(expect, execfn);
        // The areas /proc/PID/cmdline and environ read.
        assert_eq!(img.args, d.argv[0].0..d.envp[0].0);
        assert_eq!(img.env, d.envp[0].0..execfn);
        // Below the strings: 16-byte alignment, then the platform string, then the random bytes.
        let platform = aux(&d, AT_PLATFORM);
        let string_area = d.argv[0].0 & !15;
        assert_eq!(platform, string_area - b"x86_64\0".len() as u64);
        let random = aux(&d, AT_RANDOM);
        assert_eq!(random, platform - 16);
        // The vectors end below the random bytes, with less than 16 bytes of padding.
        assert!(d.auxv_end <= random);
        assert!(random - d.auxv_end < 16);
    }

    #[test]
    fn alignment_for_every_shape() {
        // sp must be 16-aligned whatever the string lengths and counts.
        let strings: Vec<Vec<u8>> = (0..40).map(|n| vec![b'x'; n]).collect();
        for argc in 1..6 {
            for envc in 0..5 {
                for len in 0..20 {
                    let argv: Vec<&[u8]> = (0..argc).map(|i| strings[(len + i) % 40].as_slice()).collect();
                    let envp: Vec<&[u8]> = (0..envc).map(|i| strings[(len * 3 + i) % 40].as_slice()).collect();
                    let auxv: Vec<(u64, u64)> = (0..len % 5).map(|i| (AT_HWCAP, i as u64)).collect();
                    let mut args = sample(&argv, &envp, &auxv);
                    args.execfn = &strings[len][..];
                    args.platform = if len % 2 == 0 { b"aarch64" } else { b"" };
                    let img = build_stack(TOP, &args, 1 << 20).unwrap();
                    assert_eq!(img.sp % 16, 0);
                    let d = decode(&img);
                    assert_eq!(d.argv.len(), argc);
                    assert_eq!(d.envp.len(), envc);
                    let has_platform = d.auxv.iter().any(|(k, _)| *k == AT_PLATFORM);
                    assert_eq!(has_platform, !args.platform.is_empty());
                    assert!(d.auxv_end <= aux(&d, AT_RANDOM));
                    let end = |list: &[(u64, Vec<u8>)]| list.last().map(|(at, s)| at + s.len() as u64 + 1);
                    assert_eq!(img.args, d.argv[0].0..end(&d.argv).unwrap());
                    assert_eq!(img.env.start, img.args.end);
                    assert_eq!(img.env.end, end(&d.envp).unwrap_or(img.args.end));
                }
            }
        }
    }

    #[test]
    fn empty_argv_becomes_empty_string() {
        let img = build_stack(TOP, &sample(&[], &[], &[]), 4096).unwrap();
        let d = decode(&img);
        assert_eq!(d.argv.len(), 1);
        assert_eq!(d.argv[0].1, b"");
    }

    #[test]
    fn rejects_bad_input() {
        let nul: &[&[u8]] = &[b"ok", b"bad\0arg"];
        let e = build_stack(TOP, &sample(nul, &[], &[]), 1 << 20).unwrap_err();
        assert_eq!(e, LoadError::NulInString { which: StackString::Argv(1) });
        assert_eq!(e.to_string(), "argv[1] contains a NUL byte");
        let e = build_stack(TOP, &sample(&[b"a"], nul, &[]), 1 << 20).unwrap_err();
        assert_eq!(e, LoadError::NulInString { which: StackString::Envp(1) });

        let long = vec![b'a'; MAX_ARG_STRLEN];
        let argv: &[&[u8]] = &[&long];
        let e = build_stack(TOP, &sample(argv, &[], &[]), 1 << 30).unwrap_err();
        assert!(e.is_e2big(), "{e}");
        let ok = vec![b'a'; MAX_ARG_STRLEN - 1];
        let argv: &[&[u8]] = &[&ok];
        build_stack(TOP, &sample(argv, &[], &[]), 1 << 30).unwrap();

        for key in [AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM] {
            let auxv = [(AT_PAGESZ, 4096), (key, 1)];
            let e = build_stack(TOP, &sample(&[b"a"], &[], &auxv), 1 << 20).unwrap_err();
            assert_eq!(e, LoadError::ReservedAuxv { key });
        }

        let e = build_stack(TOP + 8, &sample(&[b"a"], &[], &[]), 1 << 20).unwrap_err();
        assert_eq!(e, LoadError::BadStackTop { top: TOP + 8 });
        // Too close to address 0 for the image.
        let e = build_stack(64, &sample(&[b"a"], &[], &[]), 1 << 20).unwrap_err();
        assert_eq!(e, LoadError::BadStackTop { top: 64 });
    }

    #[test]
    fn size_limit_is_exact() {
        let argv: &[&[u8]] = &[b"prog", b"arg"];
        let img = build_stack(TOP, &sample(argv, &[], &[]), 1 << 20).unwrap();
        let need = img.bytes.len();
        assert!(build_stack(TOP, &sample(argv, &[], &[]), need).is_ok());
        let e = build_stack(TOP, &sample(argv, &[], &[]), need - 1).unwrap_err();
        assert_eq!(e, LoadError::ArgumentListTooLong { needed: need as u64, limit: need - 1 });
        assert!(e.is_e2big());
        assert!(e.to_string().starts_with("argument list too long"));
    }

    #[test]
    fn many_strings() {
        let s: Vec<Vec<u8>> = (0..5000).map(|i| alloc::format!("ARG{i}").into_bytes()).collect();
        let argv: Vec<&[u8]> = s.iter().map(|v| v.as_slice()).collect();
        let img = build_stack(TOP, &sample(&argv, &argv, &[]), 1 << 20).unwrap();
        let d = decode(&img);
        assert_eq!(d.argv.len(), 5000);
        assert_eq!(d.envp[4999].1, b"ARG4999");
        assert!(build_stack(TOP, &sample(&argv, &argv, &[]), 64 * 1024).unwrap_err().is_e2big());
    }
}
