//! The socket tables of /proc/net (tcp, tcp6, udp, udp6, raw, raw6, unix) and
//! the sockstat counts in Linux's formats, from the sockets that have files:
//! what netstat, lsof and programs that wait for a port to listen read.
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use elfin_shim::uapi::socket as so;

use super::{open_sockets, OpenSocket};

/// One of the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// /proc/net/tcp
    Tcp,
    /// /proc/net/tcp6
    Tcp6,
    /// /proc/net/udp
    Udp,
    /// /proc/net/udp6
    Udp6,
    /// /proc/net/raw (elfin has no raw sockets: the header only)
    Raw,
    /// /proc/net/raw6
    Raw6,
    /// /proc/net/unix
    Unix,
    /// /proc/net/sockstat: sockets in use by protocol
    Sockstat,
    /// /proc/net/sockstat6
    Sockstat6,
}

/// The file names under /proc/net and their tables.
pub const TABLES: [(&[u8], Table); 9] = [
    (b"tcp", Table::Tcp),
    (b"tcp6", Table::Tcp6),
    (b"udp", Table::Udp),
    (b"udp6", Table::Udp6),
    (b"raw", Table::Raw),
    (b"raw6", Table::Raw6),
    (b"unix", Table::Unix),
    (b"sockstat", Table::Sockstat),
    (b"sockstat6", Table::Sockstat6),
];

const V4_HEAD: &str =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const V6_HEAD: &str = "  sl  local_address                         remote_address                        \
                       st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const DGRAM_TAIL: &str = " ref pointer drops";

/// Appends table `t` to `s`.
pub fn table(t: Table, s: &mut String) {
    match t {
        Table::Tcp => {
            // Linux pads the IPv4 TCP lines to 149 characters, the UDP ones to 127.
            let _ = writeln!(s, "{V4_HEAD:<149}");
            inet_rows(s, so::AF_INET, so::SOCK_STREAM, 149);
        }
        Table::Tcp6 => {
            let _ = writeln!(s, "{V6_HEAD}");
            inet_rows(s, so::AF_INET6, so::SOCK_STREAM, 0);
        }
        Table::Udp => {
            let _ = writeln!(s, "{:<127}", alloc::format!(" {V4_HEAD}{DGRAM_TAIL}"));
            inet_rows(s, so::AF_INET, so::SOCK_DGRAM, 127);
        }
        Table::Udp6 => {
            let _ = writeln!(s, "{V6_HEAD}{DGRAM_TAIL}");
            inet_rows(s, so::AF_INET6, so::SOCK_DGRAM, 0);
        }
        Table::Raw => {
            let _ = writeln!(s, "{V4_HEAD}{DGRAM_TAIL}");
        }
        Table::Raw6 => {
            let _ = writeln!(s, "{V6_HEAD}{DGRAM_TAIL}");
        }
        Table::Unix => unix_rows(s),
        Table::Sockstat | Table::Sockstat6 => sockstat(s, t == Table::Sockstat6),
    }
}

/// /proc/net/sockstat (or sockstat6): how many sockets of each protocol are in
/// use (TCP: bound, listening or connected; UDP: bound), and all sockets.
fn sockstat(s: &mut String, v6: bool) {
    let all = open_sockets();
    let (mut tcp, mut tcp_alloc, mut udp) = (0, 0, 0);
    for o in &all {
        let Some(st) = o.sock.net_state() else { continue };
        let fam = if v6 { so::AF_INET6 } else { so::AF_INET };
        let bound = endpoint(&o.sock.name()).is_some_and(|(_, port)| port != 0);
        if st.ty == so::SOCK_STREAM && (st.family == so::AF_INET || st.family == so::AF_INET6) {
            tcp_alloc += 1;
        }
        if st.family != fam {
            continue;
        }
        match st.ty {
            so::SOCK_STREAM if bound || st.state != 7 => tcp += 1,
            so::SOCK_DGRAM if bound => udp += 1,
            _ => {}
        }
    }
    if v6 {
        let _ = write!(
            s,
            "TCP6: inuse {tcp}\nUDP6: inuse {udp}\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n"
        );
    } else {
        let _ = write!(
            s,
            "sockets: used {}\nTCP: inuse {tcp} orphan 0 tw 0 alloc {tcp_alloc} mem 0\nUDP: inuse {udp} mem 0\n\
             UDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n",
            all.len()
        );
    }
}

/// An address and port from a sockaddr_in or sockaddr_in6 (None for others).
fn endpoint(raw: &[u8]) -> Option<(Vec<u8>, u16)> {
    let family = u16::from_ne_bytes([*raw.first()?, *raw.get(1)?]);
    let port = u16::from_be_bytes([*raw.get(2)?, *raw.get(3)?]);
    let addr = match family {
        so::AF_INET => raw.get(4..8)?,
        so::AF_INET6 => raw.get(8..24)?,
        _ => return None,
    };
    Some((addr.to_vec(), port))
}

/// An address as /proc/net prints it: each 32-bit word of the network-order
/// bytes read as a host-order number, in hex.
fn hex_addr(s: &mut String, addr: &[u8]) {
    for w in addr.chunks_exact(4) {
        let _ = write!(s, "{:08X}", u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    }
}

/// The lines of family `family`'s sockets of type `ty`, each padded to `width`.
fn inet_rows(s: &mut String, family: u16, ty: u32, width: usize) {
    let zero = if family == so::AF_INET { [0u8; 4].to_vec() } else { [0u8; 16].to_vec() };
    let mut sl = 0;
    for OpenSocket { sock, ino, uid } in open_sockets() {
        let Some(st) = sock.net_state() else { continue };
        if st.family != family || st.ty != ty {
            continue;
        }
        let (local, lport) = endpoint(&sock.name()).unwrap_or((zero.clone(), 0));
        let (remote, rport) = sock.peer_name().ok().and_then(|p| endpoint(&p)).unwrap_or((zero.clone(), 0));
        let listening = sock.listening();
        let (txq, rxq) = if listening { (0, 0) } else { (sock.outq(), sock.inq()) };
        let mut line = String::new();
        if ty == so::SOCK_STREAM {
            let _ = write!(line, "{sl:4}: ");
        } else {
            let _ = write!(line, "{sl:5}: ");
        }
        hex_addr(&mut line, &local);
        let _ = write!(line, ":{lport:04X} ");
        hex_addr(&mut line, &remote);
        let _ = write!(
            line,
            ":{rport:04X} {:02X} {:08X}:{:08X} 00:00000000 00000000 {uid:5} {:8} {ino}",
            st.state, txq, rxq, 0
        );
        if ty == so::SOCK_STREAM {
            // refcount, the (hidden) pointer, rto, ato, quick ack, cwnd, ssthresh
            // (a listener's fast-open queue length instead).
            let _ = write!(line, " 1 0000000000000000 100 0 0 10 {}", if listening { 0 } else { -1 });
        } else {
            // refcount, the (hidden) pointer, drops.
            line.push_str(" 2 0000000000000000 0");
        }
        let _ = writeln!(s, "{line:<width$}");
        sl += 1;
    }
}

/// /proc/net/unix: every AF_UNIX socket, with its name (abstract names start
/// with '@', as do the NULs in them).
fn unix_rows(s: &mut String) {
    s.push_str("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for OpenSocket { sock, ino, .. } in open_sockets() {
        let Some(st) = sock.net_state() else { continue };
        if st.family != so::AF_UNIX {
            continue;
        }
        // __SO_ACCEPTCON marks a listener.
        let flags: u32 = if sock.listening() { 1 << 16 } else { 0 };
        let refs = if st.state == 3 { 3 } else { 2 };
        let _ = write!(s, "0000000000000000: {refs:08X} 00000000 {flags:08X} {:04X} {:02X} {ino:5}", st.ty, st.state);
        let name = sock.name();
        let path = name.get(2..).unwrap_or(&[]);
        if !path.is_empty() {
            s.push(' ');
            // A path name ends at its first NUL; an abstract one is all its bytes.
            let path = if path[0] == 0 { path } else { path.split(|&b| b == 0).next().unwrap_or(&[]) };
            for &b in path {
                s.push(if b == 0 { '@' } else { b as char });
            }
        }
        s.push('\n');
    }
}
