//! The kernel command line: options only (program and arguments come from the
//! initrd's `/.elfin/run`, see docs/protocol.md).
/// Options given on the kernel command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// Log every system call.
    pub strace: bool,
    /// Address-space layout randomisation.
    pub aslr: bool,
    /// Kernel log level (1 = error … 5 = trace).
    pub loglevel: usize,
    /// No host framing on the console.
    pub raw_console: bool,
    /// Print boot-phase cycle counts at exit (for benchmarks).
    pub bootstat: bool,
    /// How the network device gets its address: `ip=dhcp` or
    /// `ip=ADDR/PREFIX[,GATEWAY]` (None: DHCP). Kept inline: the command line is
    /// parsed before the kernel heap exists.
    pub ip: Option<([u8; 64], usize)>,
    /// Most CPUs to use (`maxcpus=N`, `nosmp` for 1; default: all the VMM gives).
    pub cpus: usize,
}

impl Options {
    /// The value of `ip=`, if given.
    pub fn ip(&self) -> Option<&[u8]> {
        self.ip.as_ref().and_then(|(b, n)| b.get(..*n))
    }
}

/// Parses command-line options; unknown words are ignored (VMMs add their own).
pub fn parse_str(s: &[u8]) -> Options {
    let mut o = Options {
        strace: false,
        aslr: true,
        loglevel: 2,
        raw_console: false,
        bootstat: false,
        ip: None,
        cpus: usize::MAX,
    };
    for w in elfin_plat::cmdline_words(s) {
        match w {
            b"strace" => o.strace = true,
            b"noaslr" => o.aslr = false,
            b"console=raw" => o.raw_console = true,
            b"bootstat" => o.bootstat = true,
            b"loglevel=error" => o.loglevel = 1,
            b"loglevel=warn" => o.loglevel = 2,
            b"loglevel=info" => o.loglevel = 3,
            b"loglevel=debug" => o.loglevel = 4,
            b"loglevel=trace" => o.loglevel = 5,
            b"nosmp" => o.cpus = 1,
            _ => {
                if let Some(n) = w.strip_prefix(b"maxcpus=").and_then(|v| core::str::from_utf8(v).ok()?.parse().ok()) {
                    o.cpus = usize::max(n, 1);
                }
                if let Some(v) = w.strip_prefix(b"ip=") {
                    let mut b = [0u8; 64];
                    if let Some(dst) = b.get_mut(..v.len()) {
                        dst.copy_from_slice(v);
                        o.ip = Some((b, v.len()));
                    }
                }
            }
        }
    }
    o
}
