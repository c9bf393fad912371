//! `memcmp` and `bcmp` eight bytes at a time, in place of the byte-wise ones of
//! compiler_builtins (weak symbols, which these replace): every path lookup and
//! every B-tree of names compares short byte strings.

/// The first `n` bytes at `a` and `b`, compared as unsigned bytes.
///
/// # Safety
/// `a` and `b` are valid for reads of `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, and the caller's pointers are valid for n bytes.
        let (x, y) = unsafe { ((a.add(i) as *const u64).read_unaligned(), (b.add(i) as *const u64).read_unaligned()) };
        if x != y {
            // Read as big-endian numbers, the words compare as their bytes do,
            // first byte first.
            return if u64::from_be(x) < u64::from_be(y) { -1 } else { 1 };
        }
        i += 8;
    }
    while i < n {
        // SAFETY: i < n, as above.
        let (x, y) = unsafe { (a.add(i).read(), b.add(i).read()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// Zero when the first `n` bytes at `a` and `b` are equal.
///
/// # Safety
/// As for [`memcmp`].
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the same contract.
    unsafe { memcmp(a, b, n) }
}
