//! Where a run that timed out was stuck: each vCPU's registers, asked of QEMU's
//! monitor (QMP over a socket QEMU inherits), a frame-pointer backtrace read
//! through it, and the kernel ELF's symbols for both. Printed with the timeout's
//! message, so that a hang seen once (in CI, say) leaves a trace to read.

use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::arch::Arch;

/// How long the whole dump may take (a wedged QEMU must not hold the run up).
const DUMP_TIME: Duration = Duration::from_secs(5);
/// Frames followed per vCPU.
const MAX_FRAMES: usize = 16;
/// How far past an assembly label (which has no size) an address is named after it.
const MAX_LABEL_REACH: u64 = 0x1000;

/// The VMM's monitor, connected before the VMM starts.
pub struct Monitor {
    host: UnixStream,
    guest: Option<UnixStream>,
    arch: Arch,
    /// The kernel ELF whose symbols name the addresses.
    kernel: PathBuf,
}

impl Monitor {
    /// A socket pair for the monitor of a VMM booting `kernel` (an ELF, or an
    /// arm64 `Image` next to its ELF).
    pub fn new(arch: Arch, kernel: &Path) -> io::Result<Monitor> {
        let (host, guest) = UnixStream::pair()?;
        Ok(Monitor { host, guest: Some(guest), arch, kernel: kernel.to_path_buf() })
    }

    /// The VMM's end, to be inherited as QEMU's `-chardev socket,fd=`.
    pub fn vmm_fd(&self) -> Option<i32> {
        self.guest.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Closes our copy of the VMM's end once the VMM has it.
    pub fn close_vmm_end(&mut self) {
        self.guest = None;
    }

    /// What each vCPU was doing, as text for the user (never fails: what could
    /// not be read is said instead).
    pub fn dump(&mut self) -> String {
        let deadline = Instant::now() + DUMP_TIME;
        let symbols = Symbols::load(&self.kernel);
        let mut qmp = Qmp { reader: BufReader::new(&self.host), deadline };
        let mut out = String::from("where each vCPU was (kernel backtrace by frame pointers):\n");
        match qmp.cpus() {
            Ok(cpus) => {
                for cpu in cpus {
                    out.push_str(&describe_cpu(&mut qmp, self.arch, &symbols, cpu));
                }
            }
            Err(e) => out.push_str(&format!("  the VMM's monitor did not answer: {e}\n")),
        }
        out
    }
}

/// A QMP conversation.
struct Qmp<'a> {
    reader: BufReader<&'a UnixStream>,
    deadline: Instant,
}

impl Qmp<'_> {
    /// One JSON message (events skipped).
    fn message(&mut self) -> io::Result<Value> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "out of time"));
            }
            self.reader.get_ref().set_read_timeout(Some(left))?;
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the monitor closed"));
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if v.get("event").is_none() {
                return Ok(v);
            }
        }
    }

    /// Runs `command` and returns its `return` value.
    fn call(&mut self, command: &str, arguments: Value) -> io::Result<Value> {
        let mut msg = json!({ "execute": command, "arguments": arguments }).to_string();
        msg.push('\n');
        let mut w: &UnixStream = self.reader.get_ref();
        w.write_all(msg.as_bytes())?;
        let mut v = self.message()?;
        match v.get_mut("return") {
            Some(r) => Ok(r.take()),
            None => Err(io::Error::other(format!("{command}: {}", v.get("error").unwrap_or(&v)))),
        }
    }

    /// Negotiates capabilities and lists the vCPUs' indexes.
    fn cpus(&mut self) -> io::Result<Vec<u64>> {
        let greeting = self.message()?;
        if greeting.get("QMP").is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "no QMP greeting"));
        }
        self.call("qmp_capabilities", json!({}))?;
        let list = self.call("query-cpus-fast", json!({}))?;
        let cpus = list.as_array().map(|a| a.iter().filter_map(|c| c.get("cpu-index")?.as_u64()).collect());
        cpus.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "query-cpus-fast gave no list"))
    }

    /// A human monitor command run on vCPU `cpu`.
    fn hmp(&mut self, cpu: u64, command: &str) -> io::Result<String> {
        let r = self.call("human-monitor-command", json!({ "command-line": command, "cpu-index": cpu }))?;
        Ok(r.as_str().unwrap_or_default().replace('\r', ""))
    }
}

/// The lines of the dump for vCPU `cpu`.
fn describe_cpu(qmp: &mut Qmp<'_>, arch: Arch, symbols: &Symbols, cpu: u64) -> String {
    let regs = match qmp.hmp(cpu, "info registers") {
        Ok(r) => r,
        Err(e) => return format!("  cpu {cpu}: no registers ({e})\n"),
    };
    let Some(state) = CpuState::parse(arch, &regs) else {
        return format!("  cpu {cpu}: registers not understood:\n{regs}\n");
    };
    let mut out = format!("  cpu {cpu}: ");
    if state.user {
        out.push_str(&format!("in user mode at {:#x}\n", state.pc));
        return out;
    }
    let halted = if state.halted { "halted " } else { "" };
    out.push_str(&format!("{halted}at {}\n", symbols.name(state.pc)));
    // Each frame record is [saved frame pointer, return address]; the stack grows
    // down, so the records of callers lie at higher addresses.
    let mut fp = state.fp;
    for _ in 0..MAX_FRAMES {
        if fp == 0 || fp % 8 != 0 {
            break;
        }
        let Some((next, ret)) = qmp.hmp(cpu, &format!("x /2gx {fp:#x}")).ok().and_then(|t| two_words(&t)) else {
            out.push_str(&format!("        (frame at {fp:#x} unreadable)\n"));
            break;
        };
        // A return address follows its call, which may be a function's last
        // instruction: the byte before it names the caller.
        if ret == 0 || (!symbols.known(ret - 1) && !symbols.is_empty()) {
            break;
        }
        out.push_str(&format!("        <- {}\n", symbols.name_return(ret)));
        if next <= fp {
            break;
        }
        fp = next;
    }
    out
}

/// What the dump needs of a vCPU's registers.
#[derive(Debug, PartialEq, Eq)]
struct CpuState {
    pc: u64,
    fp: u64,
    user: bool,
    halted: bool,
}

impl CpuState {
    /// Reads QEMU's `info registers` text.
    fn parse(arch: Arch, text: &str) -> Option<CpuState> {
        match arch {
            Arch::X86_64 => Some(CpuState {
                pc: reg(text, "RIP")?,
                fp: reg(text, "RBP")?,
                user: reg(text, "CPL")? == 3,
                halted: reg(text, "HLT") == Some(1),
            }),
            Arch::Aarch64 => Some(CpuState {
                pc: reg(text, "PC")?,
                fp: reg(text, "X29")?,
                user: text.contains(" EL0t") || text.contains(" EL0h"),
                halted: false,
            }),
        }
    }
}

/// The hex value of register `name` in `info registers` text (`NAME=hex`).
fn reg(text: &str, name: &str) -> Option<u64> {
    let key = format!("{name}=");
    let mut rest = text;
    loop {
        let at = rest.find(&key)?;
        let before = rest[..at].chars().next_back();
        rest = &rest[at + key.len()..];
        if before.is_none_or(|c| c.is_whitespace()) {
            let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            return u64::from_str_radix(&hex, 16).ok();
        }
    }
}

/// The two words of an `x /2gx` answer (`addr: 0x… 0x…`).
fn two_words(text: &str) -> Option<(u64, u64)> {
    let (_, vals) = text.lines().next()?.split_once(": ")?;
    let mut w = vals.split_whitespace().map(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    Some((w.next()??, w.next()??))
}

/// The kernel's function symbols, sorted by address.
struct Symbols(Vec<(u64, u64, String)>);

impl Symbols {
    /// Reads the symbols of `kernel`, or of the ELF next to a boot image made from it;
    /// none when neither is an ELF with symbols.
    fn load(kernel: &Path) -> Symbols {
        let candidates = [kernel.to_path_buf(), kernel.with_extension("")];
        for path in candidates {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let Ok(elf) = goblin::elf::Elf::parse(&bytes) else { continue };
            // Functions, and the labels of assembly (no type, no size), which
            // then reach to the next symbol. ($x and $d are arm64's mapping symbols.)
            let mut syms: Vec<(u64, u64, String)> = elf
                .syms
                .iter()
                .filter(|s| s.st_value != 0 && (s.is_function() || s.st_type() == goblin::elf::sym::STT_NOTYPE))
                .filter_map(|s| {
                    let name = elf.strtab.get_at(s.st_name).filter(|n| !n.is_empty() && !n.starts_with('$'))?;
                    Some((s.st_value, s.st_size, format!("{:#}", rustc_demangle::demangle(name))))
                })
                .collect();
            syms.sort_unstable();
            syms.dedup_by_key(|s| s.0);
            let starts: Vec<u64> = syms.iter().map(|s| s.0).collect();
            for (s, next) in syms.iter_mut().zip(starts.iter().skip(1)) {
                if s.1 == 0 {
                    s.1 = (next - s.0).min(MAX_LABEL_REACH);
                }
            }
            if !syms.is_empty() {
                return Symbols(syms);
            }
        }
        Symbols(Vec::new())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The function holding `addr`.
    fn find(&self, addr: u64) -> Option<&(u64, u64, String)> {
        let i = self.0.partition_point(|s| s.0 <= addr).checked_sub(1)?;
        self.0.get(i).filter(|(start, size, _)| addr - start < (*size).max(1))
    }

    /// True when `addr` is inside a kernel function.
    fn known(&self, addr: u64) -> bool {
        self.find(addr).is_some()
    }

    /// `function+0xoff (addr)`, or the bare address.
    fn name(&self, addr: u64) -> String {
        self.name_in(addr, self.find(addr))
    }

    /// [`Symbols::name`] of a return address: the function of the call before it.
    fn name_return(&self, ret: u64) -> String {
        self.name_in(ret, self.find(ret.saturating_sub(1)))
    }

    fn name_in(&self, addr: u64, sym: Option<&(u64, u64, String)>) -> String {
        match sym {
            Some((start, _, name)) => format!("{name}+{:#x} ({addr:#x})", addr - start),
            None => format!("{addr:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86: &str = "RAX=0000000015697eb7 RBX=ffffffff802b1d40\n\
        R8 =0000001748591bd2 R9 =0000000000000003\n\
        RBP=ffff80000030fd20 RSP=ffff80000030fbe0\n\
        RIP=ffffffff80186b7c RFL=00000206 [-----P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n\
        DR7=0000000000000400\n";
    const ARM: &str = " PC=ffffffff80066b48 X00=0000000000000058 X01=ffffffff80180d40\n\
        X29=ffff0000401eff00 X30=ffffffff80065b00  SP=ffff0000401efdf0\n\
        PSTATE=000003c5 ---- EL1h  SVCR=00000000 --  BTYPE=0\n";

    #[test]
    fn registers_are_read_from_info_registers() {
        let x = CpuState::parse(Arch::X86_64, X86).expect("x86 state");
        assert_eq!(x, CpuState { pc: 0xffff_ffff_8018_6b7c, fp: 0xffff_8000_0030_fd20, user: false, halted: true });
        let a = CpuState::parse(Arch::Aarch64, ARM).expect("arm state");
        assert_eq!(a, CpuState { pc: 0xffff_ffff_8006_6b48, fp: 0xffff_0000_401e_ff00, user: false, halted: false });
        let user = ARM.replace("EL1h", "EL0t");
        assert!(CpuState::parse(Arch::Aarch64, &user).expect("user").user);
        // X0 is not X00, and DR7 is not R7's neighbour R8.
        assert_eq!(reg(ARM, "X0"), None);
        assert_eq!(reg(X86, "R8"), None);
        assert_eq!(reg(X86, "CPL"), Some(0));
    }

    #[test]
    fn memory_words_are_read_from_x() {
        let t = "ffff000000000000: 0x0000000000000010 0xffffffff80065b00\n";
        assert_eq!(two_words(t), Some((0x10, 0xffff_ffff_8006_5b00)));
        assert_eq!(two_words("Cannot access memory\n"), None);
    }

    #[test]
    fn addresses_are_named_by_function() {
        let s = Symbols(vec![(0x1000, 0x20, "a::f".into()), (0x1020, 0x10, "a::g".into())]);
        assert_eq!(s.name(0x1004), "a::f+0x4 (0x1004)");
        assert_eq!(s.name(0x102f), "a::g+0xf (0x102f)");
        assert_eq!(s.name(0x1030), "0x1030");
        assert_eq!(s.name(0xfff), "0xfff");
        assert_eq!(s.name_return(0x1020), "a::f+0x20 (0x1020)");
    }
}
