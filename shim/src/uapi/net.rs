//! Socket addresses and socket constants.

use core::mem::size_of;

/// `struct sockaddr`, include/linux/socket.h (as glibc's `<sys/socket.h>`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Sockaddr {
    /// Address family (`AF_*`).
    pub sa_family: u16,
    /// Family-specific address bytes.
    pub sa_data: [u8; 14],
}
const _: () = assert!(size_of::<Sockaddr>() == 16);

/// `struct sockaddr_in`, include/uapi/linux/in.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SockaddrIn {
    /// `AF_INET`.
    pub sin_family: u16,
    /// Port, in network byte order.
    pub sin_port: u16,
    /// IPv4 address (`struct in_addr`), in network byte order.
    pub sin_addr: u32,
    /// Padding to the size of `struct sockaddr`.
    pub sin_zero: [u8; 8],
}
const _: () = assert!(size_of::<SockaddrIn>() == 16);

/// `struct sockaddr_in6`, include/uapi/linux/in6.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SockaddrIn6 {
    /// `AF_INET6`.
    pub sin6_family: u16,
    /// Port, in network byte order.
    pub sin6_port: u16,
    /// Flow information, in network byte order.
    pub sin6_flowinfo: u32,
    /// IPv6 address (`struct in6_addr`).
    pub sin6_addr: [u8; 16],
    /// Scope id.
    pub sin6_scope_id: u32,
}
const _: () = assert!(size_of::<SockaddrIn6>() == 28);

/// `struct sockaddr_un`, include/uapi/linux/un.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SockaddrUn {
    /// `AF_UNIX`.
    pub sun_family: u16,
    /// Path name (NUL-terminated unless full), or abstract name after a NUL.
    pub sun_path: [u8; 108],
}
const _: () = assert!(size_of::<SockaddrUn>() == 110);

impl Default for SockaddrUn {
    fn default() -> SockaddrUn {
        bytemuck::Zeroable::zeroed()
    }
}

/// `struct user_msghdr`, include/linux/socket.h (glibc's `struct msghdr`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Msghdr {
    /// Address buffer (`void *`).
    pub msg_name: u64,
    /// Its length.
    pub msg_namelen: u32,
    /// Padding.
    pub _pad0: u32,
    /// The `struct iovec` array.
    pub msg_iov: u64,
    /// Number of iovecs.
    pub msg_iovlen: u64,
    /// Ancillary data buffer.
    pub msg_control: u64,
    /// Its length.
    pub msg_controllen: u64,
    /// Flags of the received message.
    pub msg_flags: u32,
    /// Padding.
    pub _pad1: u32,
}
const _: () = assert!(size_of::<Msghdr>() == 56);

/// `struct mmsghdr`, include/linux/socket.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Mmsghdr {
    /// The message.
    pub msg_hdr: Msghdr,
    /// Bytes sent or received.
    pub msg_len: u32,
    /// Padding.
    pub _pad: u32,
}
const _: () = assert!(size_of::<Mmsghdr>() == 64);

/// `struct cmsghdr`, include/linux/socket.h; the data follows, aligned to 8.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Cmsghdr {
    /// Length of header and data.
    pub cmsg_len: u64,
    /// Originating protocol (`SOL_SOCKET`).
    pub cmsg_level: i32,
    /// Protocol-specific type (`SCM_RIGHTS`, `SCM_CREDENTIALS`).
    pub cmsg_type: i32,
}
const _: () = assert!(size_of::<Cmsghdr>() == 16);

/// `struct ucred`, include/linux/socket.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Ucred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}
const _: () = assert!(size_of::<Ucred>() == 12);

/// `struct linger`, include/linux/socket.h.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Linger {
    /// Linger active.
    pub l_onoff: i32,
    /// How many seconds to linger for.
    pub l_linger: i32,
}
const _: () = assert!(size_of::<Linger>() == 8);

/// Socket families, types and flags: include/linux/socket.h,
/// include/linux/net.h and include/uapi/asm-generic/socket.h as glibc exposes
/// them.
pub mod socket {
    /// Unspecified family.
    pub const AF_UNSPEC: u16 = 0;
    /// Local (Unix domain) sockets.
    pub const AF_UNIX: u16 = 1;
    /// IPv4.
    pub const AF_INET: u16 = 2;
    /// IPv6.
    pub const AF_INET6: u16 = 10;
    /// Netlink.
    pub const AF_NETLINK: u16 = 16;
    /// Byte stream.
    pub const SOCK_STREAM: u32 = 1;
    /// Datagrams.
    pub const SOCK_DGRAM: u32 = 2;
    /// Raw protocol access.
    pub const SOCK_RAW: u32 = 3;
    /// Reliable datagrams with record boundaries.
    pub const SOCK_SEQPACKET: u32 = 5;
    /// Mask of the type in the `socket` type argument.
    pub const SOCK_TYPE_MASK: u32 = 0xf;
    /// `socket` type flag: non-blocking (`O_NONBLOCK`).
    pub const SOCK_NONBLOCK: u32 = 0o4000;
    /// `socket` type flag: close on exec (`O_CLOEXEC`).
    pub const SOCK_CLOEXEC: u32 = 0o2000000;
    /// Socket-level options.
    pub const SOL_SOCKET: u32 = 1;
    /// `shutdown`: no more receptions.
    pub const SHUT_RD: u32 = 0;
    /// `shutdown`: no more transmissions.
    pub const SHUT_WR: u32 = 1;
    /// `shutdown`: neither.
    pub const SHUT_RDWR: u32 = 2;
    /// `recv`: peek.
    pub const MSG_PEEK: u32 = 0x2;
    /// `recv`: report the real length of a truncated datagram.
    pub const MSG_TRUNC: u32 = 0x20;
    /// Non-blocking for this call.
    pub const MSG_DONTWAIT: u32 = 0x40;
    /// `recv`: wait for the full request.
    pub const MSG_WAITALL: u32 = 0x100;
    /// `send`: no SIGPIPE on a broken stream.
    pub const MSG_NOSIGNAL: u32 = 0x4000;
    /// Out-of-band data.
    pub const MSG_OOB: u32 = 0x1;
    /// `send`: do not route.
    pub const MSG_DONTROUTE: u32 = 0x4;
    /// `recvmsg`: control data was truncated.
    pub const MSG_CTRUNC: u32 = 0x8;
    /// End of record.
    pub const MSG_EOR: u32 = 0x80;
    /// Confirm path validity.
    pub const MSG_CONFIRM: u32 = 0x800;
    /// `recv`: fetch from the error queue.
    pub const MSG_ERRQUEUE: u32 = 0x2000;
    /// `send`: more data coming.
    pub const MSG_MORE: u32 = 0x8000;
    /// `recvmmsg`: block only for the first message.
    pub const MSG_WAITFORONE: u32 = 0x10000;
    /// `recvmsg`: close-on-exec for SCM_RIGHTS descriptors.
    pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;
    /// `SCM_RIGHTS`: pass descriptors.
    pub const SCM_RIGHTS: i32 = 1;
    /// `SCM_CREDENTIALS`: pass credentials.
    pub const SCM_CREDENTIALS: i32 = 2;
    /// Most descriptors in one SCM_RIGHTS message (SCM_MAX_FD).
    pub const SCM_MAX_FD: usize = 253;
    /// TCP level.
    pub const IPPROTO_TCP: u32 = 6;
    /// UDP level.
    pub const IPPROTO_UDP: u32 = 17;
    /// IPv4 level.
    pub const IPPROTO_IP: u32 = 0;
    /// IPv6 level.
    pub const IPPROTO_IPV6: u32 = 41;
}

/// Socket option names (include/uapi/asm-generic/socket.h, netinet/tcp.h, in.h,
/// in6.h): the same values on x86_64 and arm64.
pub mod sockopt {
    /// Debugging.
    pub const SO_DEBUG: i32 = 1;
    /// Reuse local addresses.
    pub const SO_REUSEADDR: i32 = 2;
    /// Socket type.
    pub const SO_TYPE: i32 = 3;
    /// Pending error.
    pub const SO_ERROR: i32 = 4;
    /// Bypass routing.
    pub const SO_DONTROUTE: i32 = 5;
    /// Broadcast.
    pub const SO_BROADCAST: i32 = 6;
    /// Send buffer size.
    pub const SO_SNDBUF: i32 = 7;
    /// Receive buffer size.
    pub const SO_RCVBUF: i32 = 8;
    /// Keep-alive probes.
    pub const SO_KEEPALIVE: i32 = 9;
    /// Out-of-band data inline.
    pub const SO_OOBINLINE: i32 = 10;
    /// Linger on close.
    pub const SO_LINGER: i32 = 13;
    /// Reuse ports.
    pub const SO_REUSEPORT: i32 = 15;
    /// Receive credentials.
    pub const SO_PASSCRED: i32 = 16;
    /// Peer credentials.
    pub const SO_PEERCRED: i32 = 17;
    /// Receive low-water mark.
    pub const SO_RCVLOWAT: i32 = 18;
    /// Send low-water mark.
    pub const SO_SNDLOWAT: i32 = 19;
    /// Receive timeout (`struct timeval`).
    pub const SO_RCVTIMEO_OLD: i32 = 20;
    /// Send timeout (`struct timeval`).
    pub const SO_SNDTIMEO_OLD: i32 = 21;
    /// Listening.
    pub const SO_ACCEPTCONN: i32 = 30;
    /// Send buffer size, ignoring the limit.
    pub const SO_SNDBUFFORCE: i32 = 32;
    /// Receive buffer size, ignoring the limit.
    pub const SO_RCVBUFFORCE: i32 = 33;
    /// Protocol.
    pub const SO_PROTOCOL: i32 = 38;
    /// Domain.
    pub const SO_DOMAIN: i32 = 39;
    /// Queueing priority.
    pub const SO_PRIORITY: i32 = 12;
    /// Packet mark (routing policy).
    pub const SO_MARK: i32 = 36;
    /// Busy-poll time in microseconds.
    pub const SO_BUSY_POLL: i32 = 46;
    /// The CPU the socket's packets arrive on.
    pub const SO_INCOMING_CPU: i32 = 49;
    /// The socket's unique 64-bit cookie.
    pub const SO_COOKIE: i32 = 57;
    /// TCP: seconds a connection may lie in FIN_WAIT2.
    pub const TCP_LINGER2: i32 = 8;
    /// TCP: SYN retransmissions before connect gives up.
    pub const TCP_SYNCNT: i32 = 7;
    /// TCP: wake accept only once data arrived (seconds).
    pub const TCP_DEFER_ACCEPT: i32 = 9;
    /// TCP: bound on the advertised window.
    pub const TCP_WINDOW_CLAMP: i32 = 10;
    /// TCP: unsent bytes below which the socket is writable.
    pub const TCP_NOTSENT_LOWAT: i32 = 25;
    /// IPv4: multicast time to live.
    pub const IP_MULTICAST_TTL: i32 = 33;
    /// IPv4: multicast loopback.
    pub const IP_MULTICAST_LOOP: i32 = 34;
    /// IPv6: path MTU discovery.
    pub const IPV6_MTU_DISCOVER: i32 = 23;
    /// IPv6: receive errors.
    pub const IPV6_RECVERR: i32 = 25;
    /// IPv6: packet info control messages on receive.
    pub const IPV6_RECVPKTINFO: i32 = 49;
    /// IPv6: the packet info control message.
    pub const IPV6_PKTINFO: i32 = 50;
    /// TCP: no Nagle delay.
    pub const TCP_NODELAY: i32 = 1;
    /// TCP: maximum segment size.
    pub const TCP_MAXSEG: i32 = 2;
    /// TCP: cork.
    pub const TCP_CORK: i32 = 3;
    /// TCP: idle time before keep-alive probes.
    pub const TCP_KEEPIDLE: i32 = 4;
    /// TCP: interval between keep-alive probes.
    pub const TCP_KEEPINTVL: i32 = 5;
    /// TCP: number of keep-alive probes.
    pub const TCP_KEEPCNT: i32 = 6;
    /// TCP: connection information.
    pub const TCP_INFO: i32 = 11;
    /// TCP: quick acknowledgements.
    pub const TCP_QUICKACK: i32 = 12;
    /// TCP: congestion control.
    pub const TCP_CONGESTION: i32 = 13;
    /// TCP: fast open.
    pub const TCP_FASTOPEN: i32 = 23;
    /// TCP: user timeout.
    pub const TCP_USER_TIMEOUT: i32 = 18;
    /// Option level of raw sockets.
    pub const SOL_RAW: i32 = 255;
    /// Raw ICMP sockets: a mask of the ICMP types not to deliver (types below 32).
    pub const ICMP_FILTER: i32 = 1;
    /// IPv4: the program writes the IP header (raw sockets).
    pub const IP_HDRINCL: i32 = 3;
    /// IPv4: type of service.
    pub const IP_TOS: i32 = 1;
    /// IPv4: time to live.
    pub const IP_TTL: i32 = 2;
    /// IPv4: packet info control messages.
    pub const IP_PKTINFO: i32 = 8;
    /// IPv4: path MTU discovery.
    pub const IP_MTU_DISCOVER: i32 = 10;
    /// IPv4 (and IPv6 sockets): bind to an address that is not (yet) local.
    pub const IP_FREEBIND: i32 = 15;
    /// IPv4 (and IPv6 sockets): bind records the address; the port is picked at connect.
    pub const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
    /// IPv6: IP_FREEBIND.
    pub const IPV6_FREEBIND: i32 = 78;
    /// IPv4: receive errors.
    pub const IP_RECVERR: i32 = 11;
    /// IPv6: only IPv6 on an AF_INET6 socket.
    pub const IPV6_V6ONLY: i32 = 26;
    /// IPv6: unicast hops.
    pub const IPV6_UNICAST_HOPS: i32 = 16;
    /// IPv6: traffic class.
    pub const IPV6_TCLASS: i32 = 67;
}
