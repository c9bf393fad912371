//! Seccomp filters: the classic-BPF programs of `seccomp(SECCOMP_SET_MODE_FILTER)`,
//! checked as Linux's `bpf_check_classic` and `seccomp_check_filter` check them,
//! run over a call's `seccomp_data`, and the precedence rule that combines the
//! verdicts of stacked filters.

/// One classic-BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Insn {
    /// Opcode.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

/// What a filter sees of a system call (`struct seccomp_data`, 64 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Data {
    /// Call number.
    pub nr: i32,
    /// AUDIT_ARCH_* of the calling convention.
    pub arch: u32,
    /// Address after the system-call instruction.
    pub instruction_pointer: u64,
    /// The six argument registers.
    pub args: [u64; 6],
}

/// Size of `struct seccomp_data`.
pub const DATA_LEN: u32 = 64;
/// Most instructions in one program (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;
/// Most instructions over all filters of a thread, each counting 4 more
/// (MAX_INSNS_PER_PATH).
pub const MAX_INSNS_PER_PATH: usize = 32768;
/// Scratch memory words (BPF_MEMWORDS).
const MEMWORDS: u32 = 16;

/// The action part of a return value.
pub const RET_ACTION_FULL: u32 = 0xffff_0000;
/// The data part of a return value.
pub const RET_DATA: u32 = 0x0000_ffff;
/// Kill the process.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Kill the thread.
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
/// Send SIGSYS.
pub const RET_TRAP: u32 = 0x0003_0000;
/// Fail with the errno in the data.
pub const RET_ERRNO: u32 = 0x0005_0000;
/// Ask the listening supervisor.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// Ask the tracer.
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// Allow, and log.
pub const RET_LOG: u32 = 0x7ffc_0000;
/// Allow.
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// The actions `SECCOMP_GET_ACTION_AVAIL` knows.
pub const ACTIONS: [u32; 8] =
    [RET_KILL_PROCESS, RET_KILL_THREAD, RET_TRAP, RET_ERRNO, RET_USER_NOTIF, RET_TRACE, RET_LOG, RET_ALLOW];

// Opcode fields.
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const ADD: u16 = 0x00;
const SUB: u16 = 0x10;
const MUL: u16 = 0x20;
const DIV: u16 = 0x30;
const OR: u16 = 0x40;
const AND: u16 = 0x50;
const LSH: u16 = 0x60;
const RSH: u16 = 0x70;
const NEG: u16 = 0x80;
const MOD: u16 = 0x90;
const XOR: u16 = 0xa0;
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JGT: u16 = 0x20;
const JGE: u16 = 0x30;
const JSET: u16 = 0x40;
const K: u16 = 0x00;
const X: u16 = 0x08;
const RET_A: u16 = 0x10;
const TAX: u16 = 0x00;
const TXA: u16 = 0x80;

/// Why a program was refused (the caller answers EINVAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Empty or longer than [`MAX_INSNS`].
    Length,
    /// An opcode seccomp does not allow, at this index.
    Opcode(usize),
    /// A constant out of range (a load outside `seccomp_data`, a division by a
    /// zero constant, a shift of 32 or more, a scratch word past 15), at this index.
    Operand(usize),
    /// A jump past the end, at this index.
    Jump(usize),
    /// A scratch word read before every path to it stored it, at this index.
    Uninitialized(usize),
    /// The last instruction is not a return.
    NoReturn,
}

fn is_conditional(code: u16) -> bool {
    code & 0x07 == JMP && code & 0xf0 != JA
}

/// Checks `prog` as Linux does before accepting it as a filter.
pub fn check(prog: &[Insn]) -> Result<(), Invalid> {
    let len = prog.len();
    if len == 0 || len > MAX_INSNS {
        return Err(Invalid::Length);
    }
    for (pc, i) in prog.iter().enumerate() {
        let rest = len.saturating_sub(pc).saturating_sub(1);
        let ok = match i.code {
            c if c == LD | W | ABS => {
                if i.k >= DATA_LEN || i.k & 3 != 0 {
                    return Err(Invalid::Operand(pc));
                }
                true
            }
            c if c == LD | W | LEN || c == LDX | W | LEN => true,
            c if c == RET | K || c == RET | RET_A => true,
            c if c == LD | IMM || c == LDX | IMM || c == MISC | TAX || c == MISC | TXA => true,
            c if c == LD | MEM || c == LDX | MEM || c == ST || c == STX => {
                if i.k >= MEMWORDS {
                    return Err(Invalid::Operand(pc));
                }
                true
            }
            c if c & 0x07 == ALU => {
                let op = c & 0xf0;
                let src = c & 0x08;
                let known = matches!(op, ADD | SUB | MUL | DIV | OR | AND | LSH | RSH | NEG | MOD | XOR);
                // NEG has no X form.
                if c & !0xf8 != ALU || !known || (op == NEG && src != 0) {
                    false
                } else {
                    if src == K && (op == DIV || op == MOD) && i.k == 0 {
                        return Err(Invalid::Operand(pc));
                    }
                    if src == K && (op == LSH || op == RSH) && i.k >= 32 {
                        return Err(Invalid::Operand(pc));
                    }
                    true
                }
            }
            c if c == JMP | JA => {
                if i.k as usize >= rest {
                    return Err(Invalid::Jump(pc));
                }
                true
            }
            c if c & 0x07 == JMP && matches!(c & 0xf0, JEQ | JGT | JGE | JSET) && c & !0xf8 == JMP => {
                if usize::from(i.jt) >= rest || usize::from(i.jf) >= rest {
                    return Err(Invalid::Jump(pc));
                }
                true
            }
            _ => false,
        };
        if !ok {
            return Err(Invalid::Opcode(pc));
        }
    }
    match prog.last().map(|i| i.code) {
        Some(c) if c == RET | K || c == RET | RET_A => {}
        _ => return Err(Invalid::NoReturn),
    }
    check_scratch(prog)
}

/// Every read of a scratch word must follow a store to it on every path
/// (Linux's check_load_and_stores, which walks the program once in order).
fn check_scratch(prog: &[Insn]) -> Result<(), Invalid> {
    let mut masks = alloc::vec![u16::MAX; prog.len()];
    let mut valid: u16 = 0;
    for (pc, i) in prog.iter().enumerate() {
        valid &= masks.get(pc).copied().unwrap_or(u16::MAX);
        let bit = 1u16.checked_shl(i.k).unwrap_or(0);
        match i.code {
            c if c == ST || c == STX => valid |= bit,
            c if (c == LD | MEM || c == LDX | MEM) && valid & bit == 0 => return Err(Invalid::Uninitialized(pc)),
            c if c == JMP | JA => {
                let to = pc.saturating_add(1).saturating_add(i.k as usize);
                if let Some(m) = masks.get_mut(to) {
                    *m &= valid;
                }
                valid = u16::MAX;
            }
            c if is_conditional(c) => {
                for off in [i.jt, i.jf] {
                    let to = pc.saturating_add(1).saturating_add(usize::from(off));
                    if let Some(m) = masks.get_mut(to) {
                        *m &= valid;
                    }
                }
                valid = u16::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The length Linux gives a checked program toward [`MAX_INSNS_PER_PATH`]:
/// that of the eBPF program it translates it into (bpf_convert_filter): three
/// instructions of prologue, two per return, five per division or remainder by
/// X (the zero test), one more for a jump constant above `i32::MAX`, one more
/// for a conditional jump whose two targets are both away, and one for the rest.
pub fn translated_len(prog: &[Insn]) -> usize {
    let one = |i: &Insn| -> usize {
        match i.code {
            c if c & 0x07 == RET => 2,
            c if c == ALU | DIV | X || c == ALU | MOD | X => 5,
            c if is_conditional(c) => {
                let wide = usize::from(c & X == 0 && i.k > i32::MAX as u32);
                let op = c & 0xf0;
                let one_jump = i.jf == 0 || (i.jt == 0 && matches!(op, JEQ | JGT | JGE));
                1usize.saturating_add(wide).saturating_add(usize::from(!one_jump))
            }
            _ => 1,
        }
    };
    prog.iter().map(one).fold(3usize, usize::saturating_add)
}

/// The 32-bit word at byte offset `k` of `d` (checked: aligned, in range).
fn load(d: &Data, k: u32) -> u32 {
    let word = |v: u64, hi: bool| if hi { (v >> 32) as u32 } else { v as u32 };
    match k {
        0 => d.nr as u32,
        4 => d.arch,
        8 | 12 => word(d.instruction_pointer, k == 12),
        _ => {
            let i = (k.saturating_sub(16) / 8) as usize;
            word(d.args.get(i).copied().unwrap_or(0), k % 8 == 4)
        }
    }
}

/// Runs a checked program over `d`; returns its verdict.
pub fn run(prog: &[Insn], d: &Data) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; MEMWORDS as usize];
    let mut pc = 0usize;
    // A checked program only jumps forward and ends with a return, so it ends
    // within its length; the bound guards an unchecked one.
    for _ in 0..prog.len() {
        let Some(i) = prog.get(pc) else { return RET_KILL_THREAD };
        pc = pc.saturating_add(1);
        let src = if i.code & X != 0 { x } else { i.k };
        match i.code & 0x07 {
            LD | LDX => {
                let v = match i.code & 0xe0 {
                    ABS => load(d, i.k),
                    MEM => mem.get(i.k as usize).copied().unwrap_or(0),
                    LEN => DATA_LEN,
                    _ => i.k,
                };
                if i.code & 0x07 == LD {
                    a = v;
                } else {
                    x = v;
                }
            }
            ST => {
                if let Some(m) = mem.get_mut(i.k as usize) {
                    *m = a;
                }
            }
            STX => {
                if let Some(m) = mem.get_mut(i.k as usize) {
                    *m = x;
                }
            }
            ALU => {
                a = match i.code & 0xf0 {
                    ADD => a.wrapping_add(src),
                    SUB => a.wrapping_sub(src),
                    MUL => a.wrapping_mul(src),
                    // A division by a zero X ends the program with 0, as classic BPF.
                    DIV => match a.checked_div(src) {
                        Some(v) => v,
                        None => return 0,
                    },
                    MOD => match a.checked_rem(src) {
                        Some(v) => v,
                        None => return 0,
                    },
                    OR => a | src,
                    AND => a & src,
                    LSH => a.wrapping_shl(src),
                    RSH => a.wrapping_shr(src),
                    NEG => a.wrapping_neg(),
                    _ => a ^ src,
                };
            }
            JMP => {
                let off = match i.code & 0xf0 {
                    JA => i.k as usize,
                    op => {
                        let taken = match op {
                            JEQ => a == src,
                            JGT => a > src,
                            JGE => a >= src,
                            _ => a & src != 0,
                        };
                        usize::from(if taken { i.jt } else { i.jf })
                    }
                };
                pc = pc.saturating_add(off);
            }
            RET => return if i.code & RET_A != 0 { a } else { i.k },
            _ => {
                if i.code & 0xf8 == TXA {
                    a = x;
                } else {
                    x = a;
                }
            }
        }
    }
    RET_KILL_THREAD
}

/// The verdict of stacked filters: the action of highest precedence (lowest as a
/// signed number, KILL_PROCESS first), the first seen among equals. `verdicts`
/// come newest filter first.
pub fn combine(verdicts: impl IntoIterator<Item = u32>) -> u32 {
    let mut best = RET_ALLOW;
    for v in verdicts {
        if ((v & RET_ACTION_FULL) as i32) < ((best & RET_ACTION_FULL) as i32) {
            best = v;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(code: u16, k: u32) -> Insn {
        Insn { code, jt: 0, jf: 0, k }
    }
    fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// Allows everything but call `nr`, which fails with `errno`.
    fn deny(nr: u32, errno: u32) -> Vec<Insn> {
        vec![
            stmt(LD | W | ABS, 0),
            jump(JMP | JEQ | K, nr, 0, 1),
            stmt(RET | K, RET_ERRNO | errno),
            stmt(RET | K, RET_ALLOW),
        ]
    }

    fn data(nr: i32, args: [u64; 6]) -> Data {
        Data { nr, arch: 0xc000_003e, instruction_pointer: 0x1234_5678_9abc, args }
    }

    #[test]
    fn deny_one_call() {
        let p = deny(39, 1);
        assert_eq!(check(&p), Ok(()));
        assert_eq!(run(&p, &data(39, [0; 6])), RET_ERRNO | 1);
        assert_eq!(run(&p, &data(40, [0; 6])), RET_ALLOW);
    }

    #[test]
    fn loads_words_of_the_data() {
        // Returns the high word of arg 2 (offset 16 + 2*8 + 4).
        let p = vec![stmt(LD | W | ABS, 36), stmt(RET | RET_A, 0)];
        assert_eq!(check(&p), Ok(()));
        assert_eq!(run(&p, &data(0, [0, 0, 0xdead_beef_0000_0001, 0, 0, 0])), 0xdead_beef);
        let ip = vec![stmt(LD | W | ABS, 12), stmt(RET | RET_A, 0)];
        assert_eq!(run(&ip, &data(0, [0; 6])), 0x1234);
        let arch = vec![stmt(LD | W | ABS, 4), stmt(RET | RET_A, 0)];
        assert_eq!(run(&arch, &data(0, [0; 6])), 0xc000_003e);
        let len = vec![stmt(LD | W | LEN, 0), stmt(RET | RET_A, 0)];
        assert_eq!(run(&len, &data(0, [0; 6])), 64);
    }

    #[test]
    fn alu_scratch_and_jumps() {
        let p = vec![
            stmt(LD | IMM, 7),
            stmt(ST, 3),
            stmt(LDX | IMM, 3),
            stmt(ALU | MUL | X, 0), // 21
            stmt(ALU | ADD | K, 1), // 22
            stmt(ALU | MOD | K, 5), // 2
            stmt(ALU | LSH | K, 4), // 32
            stmt(MISC | TAX, 0),    // X = 32
            stmt(LD | MEM, 3),      // A = 7
            stmt(ALU | OR | X, 0),  // 39
            jump(JMP | JSET | K, 0x20, 1, 0),
            stmt(RET | K, 0),
            jump(JMP | JGE | K, 39, 0, 1),
            stmt(RET | RET_A, 0),
            stmt(RET | K, 1),
        ];
        assert_eq!(check(&p), Ok(()));
        assert_eq!(run(&p, &data(0, [0; 6])), 39);
    }

    #[test]
    fn division_by_zero_x_returns_zero() {
        let p = vec![stmt(LD | IMM, 9), stmt(LDX | IMM, 0), stmt(ALU | DIV | X, 0), stmt(RET | K, RET_ALLOW)];
        assert_eq!(check(&p), Ok(()));
        assert_eq!(run(&p, &data(0, [0; 6])), 0);
    }

    #[test]
    fn refuses_what_linux_refuses() {
        assert_eq!(check(&[]), Err(Invalid::Length));
        assert_eq!(check(&vec![stmt(RET | K, 0); MAX_INSNS + 1]), Err(Invalid::Length));
        assert_eq!(check(&vec![stmt(RET | K, 0); MAX_INSNS]), Ok(()));
        // Byte and half-word loads, indirect loads: not for seccomp.
        assert_eq!(check(&[stmt(0x30, 0), stmt(RET | K, 0)]), Err(Invalid::Opcode(0)));
        assert_eq!(check(&[stmt(0x28, 0), stmt(RET | K, 0)]), Err(Invalid::Opcode(0)));
        assert_eq!(check(&[stmt(0x40, 0), stmt(RET | K, 0)]), Err(Invalid::Opcode(0)));
        // Loads outside seccomp_data or unaligned.
        assert_eq!(check(&[stmt(LD | W | ABS, 64), stmt(RET | K, 0)]), Err(Invalid::Operand(0)));
        assert_eq!(check(&[stmt(LD | W | ABS, 2), stmt(RET | K, 0)]), Err(Invalid::Operand(0)));
        assert_eq!(check(&[stmt(ALU | DIV | K, 0), stmt(RET | K, 0)]), Err(Invalid::Operand(0)));
        assert_eq!(check(&[stmt(ALU | LSH | K, 32), stmt(RET | K, 0)]), Err(Invalid::Operand(0)));
        assert_eq!(check(&[stmt(ST, 16), stmt(RET | K, 0)]), Err(Invalid::Operand(0)));
        // Jumps past the end.
        assert_eq!(check(&[stmt(JMP | JA, 1), stmt(RET | K, 0)]), Err(Invalid::Jump(0)));
        assert_eq!(check(&[jump(JMP | JEQ | K, 0, 1, 0), stmt(RET | K, 0)]), Err(Invalid::Jump(0)));
        // No return at the end.
        assert_eq!(check(&[stmt(LD | IMM, 0)]), Err(Invalid::NoReturn));
        // A scratch word read on a path that did not store it.
        let p = vec![
            stmt(LD | W | ABS, 0),
            jump(JMP | JEQ | K, 1, 0, 1),
            stmt(ST, 2),
            stmt(LD | MEM, 2),
            stmt(RET | RET_A, 0),
        ];
        assert_eq!(check(&p), Err(Invalid::Uninitialized(3)));
        let q = vec![stmt(ST, 2), stmt(JMP | JA, 0), stmt(LD | MEM, 2), stmt(RET | RET_A, 0)];
        assert_eq!(check(&q), Ok(()));
    }

    #[test]
    fn translated_lengths() {
        // The figures Linux's path limit shows: 7 filters of 4096 instructions
        // (4100 each) fit in 32768, then 449 of one return (5 each).
        assert_eq!(translated_len(&[stmt(RET | K, RET_ALLOW)]), 5);
        let mut big = vec![stmt(LD | IMM, 0); 4095];
        big.push(stmt(RET | K, RET_ALLOW));
        assert_eq!(translated_len(&big), 4100);
        assert_eq!(translated_len(&deny(39, 1)), 3 + 1 + 1 + 2 + 2);
        assert_eq!(translated_len(&[jump(JMP | JSET | K, 1, 0, 1), stmt(RET | K, 0), stmt(RET | K, 0)]), 3 + 2 + 4);
        assert_eq!(
            translated_len(&[jump(JMP | JEQ | K, 0x8000_0000, 1, 1), stmt(RET | K, 0), stmt(RET | K, 0)]),
            3 + 3 + 4
        );
        assert_eq!(translated_len(&[stmt(ALU | DIV | X, 0), stmt(RET | RET_A, 0)]), 3 + 5 + 2);
    }

    #[test]
    fn precedence_of_stacked_verdicts() {
        assert_eq!(combine([]), RET_ALLOW);
        assert_eq!(combine([RET_ALLOW, RET_ERRNO | 5, RET_TRAP | 1]), RET_TRAP | 1);
        assert_eq!(combine([RET_ERRNO | 5, RET_ERRNO | 7]), RET_ERRNO | 5);
        assert_eq!(combine([RET_LOG, RET_KILL_THREAD, RET_KILL_PROCESS]), RET_KILL_PROCESS);
        assert_eq!(combine([RET_TRACE | 3, RET_USER_NOTIF]), RET_USER_NOTIF);
    }
}
