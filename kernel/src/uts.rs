//! The host and domain names (sethostname, setdomainname) that uname and
//! /proc/sys/kernel report.
use alloc::vec::Vec;

use spin::Mutex;

static HOSTNAME: Mutex<Option<Vec<u8>>> = Mutex::new(None);
static DOMAINNAME: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// The host name ("elfin" until set).
pub fn hostname() -> Vec<u8> {
    HOSTNAME.lock().clone().unwrap_or_else(|| b"elfin".to_vec())
}

/// The NIS domain name ("(none)" until set).
pub fn domainname() -> Vec<u8> {
    DOMAINNAME.lock().clone().unwrap_or_else(|| b"(none)".to_vec())
}

/// Sets the host name.
pub fn set_hostname(name: Vec<u8>) {
    *HOSTNAME.lock() = Some(name);
}

/// Sets the domain name.
pub fn set_domainname(name: Vec<u8>) {
    *DOMAINNAME.lock() = Some(name);
}
