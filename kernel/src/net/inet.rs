//! AF_INET and AF_INET6 sockets over smoltcp.
use alloc::sync::Arc;

use elfin_shim::errno::Errno;

use super::Socket;

/// socket(AF_INET or AF_INET6, ty, protocol).
pub fn create(family: u16, ty: u32, protocol: i32) -> Result<Arc<dyn Socket>, Errno> {
    let _ = (family, ty, protocol);
    crate::syscall::report_unsupported("socket (AF_INET)");
    Err(Errno::EAFNOSUPPORT)
}
