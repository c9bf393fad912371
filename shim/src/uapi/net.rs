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
}
