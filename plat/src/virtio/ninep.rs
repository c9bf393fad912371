//! The virtio 9P transport (virtio 1.2 §5.11): one request queue carrying 9P
//! messages, and a mount tag in the configuration space naming the export.
//!
//! The kernel's 9P client (kernel/src/fs/ninep.rs) builds each T-message in the
//! device's request buffer and reads the R-message from its reply buffer; both are
//! DMA memory sized for the largest message (msize), so a message is one
//! descriptor each way and nothing is copied here. One request is in flight at a
//! time: the client serializes them, and the reply is polled for (a 9P server
//! answers in microseconds to milliseconds; an interrupt would cost more than the
//! wait).
//!
//! `virtio-drivers` provides the transports and the split virtqueue; it has no 9P
//! device, hence this one.
use alloc::vec::Vec;

use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::{DeviceStatus, DeviceType, SomeTransport, Transport};

use super::hal::{DmaBuf, PlatHal};

/// Descriptors of the request queue (one request of two buffers at a time).
const QSIZE: usize = 4;
/// The largest message this driver offers to carry (the client's msize; QEMU
/// accepts it and Linux's own client asks for 512 KiB too).
pub const MAX_MSG: usize = 512 * 1024;

const F_MOUNT_TAG: u64 = 1 << 0;
const F_VERSION_1: u64 = 1 << 32;

/// Devices found at boot, until the kernel takes them.
static FOUND: spin::Mutex<Vec<Device>> = spin::Mutex::new(Vec::new());

/// A virtio-9p device.
pub struct Device {
    t: SomeTransport<'static>,
    q: VirtQueue<PlatHal, QSIZE>,
    tag: Vec<u8>,
    req: DmaBuf,
    reply: DmaBuf,
    /// The device broke the queue's rules: every later request fails.
    failed: bool,
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The message does not fit the buffers.
    TooBig,
    /// The device misbehaved (or was reset); it is not used again.
    Device,
}

impl Device {
    fn new(mut t: SomeTransport<'static>) -> Option<Device> {
        if t.device_type() != DeviceType::_9P {
            return None;
        }
        t.set_status(DeviceStatus::empty());
        t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
        let offered = t.read_device_features();
        t.write_driver_features(offered & (F_MOUNT_TAG | F_VERSION_1));
        t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK);
        let fail = |t: &mut SomeTransport<'static>| {
            t.set_status(DeviceStatus::FAILED);
            t.set_status(DeviceStatus::empty());
        };
        if !t.get_status().contains(DeviceStatus::FEATURES_OK) || offered & F_MOUNT_TAG == 0 {
            fail(&mut t);
            return None;
        }
        t.set_guest_page_size(elfin_arch::PAGE_SIZE as u32);
        // struct virtio_9p_config { le16 tag_len; u8 tag[tag_len]; }
        let len = usize::from(t.read_config_space::<u16>(0).unwrap_or(0));
        let mut tag = Vec::with_capacity(len);
        for i in 0..len {
            match t.read_config_space::<u8>(2 + i) {
                Ok(b) => tag.push(b),
                Err(_) => break,
            }
        }
        let q = match VirtQueue::new(&mut t, 0, false, false) {
            Ok(q) => q,
            Err(_) => {
                fail(&mut t);
                return None;
            }
        };
        let (Some(req), Some(reply)) = (DmaBuf::new(MAX_MSG), DmaBuf::new(MAX_MSG)) else {
            fail(&mut t);
            return None;
        };
        t.finish_init();
        Some(Device { t, q, tag, req, reply, failed: false })
    }

    /// The mount tag the host gave the export.
    pub fn tag(&self) -> &[u8] {
        &self.tag
    }

    /// The request buffer: the caller writes a T-message at its start.
    pub fn request(&mut self) -> &mut [u8] {
        self.req.bytes().get_mut(..MAX_MSG).unwrap_or(&mut [])
    }

    /// The reply buffer, as the last [`Device::transact`] left it.
    pub fn reply(&mut self) -> &[u8] {
        self.reply.bytes().get(..MAX_MSG).unwrap_or(&[])
    }

    /// Sends the first `len` bytes of the request buffer and waits for the reply;
    /// returns the number of reply bytes the device wrote.
    pub fn transact(&mut self, len: usize) -> Result<usize, Error> {
        if self.failed {
            return Err(Error::Device);
        }
        if len == 0 || len > MAX_MSG {
            return Err(Error::TooBig);
        }
        let (req, reply) = (&mut self.req, &mut self.reply);
        let out = req.bytes().get(..len).ok_or(Error::TooBig)?;
        let inb = reply.bytes().get_mut(..MAX_MSG).ok_or(Error::TooBig)?;
        // SAFETY: both buffers are owned by the device and untouched until the same
        // token is popped below (this function does not return before that, except
        // when `add` itself failed and the device holds nothing).
        let token = match unsafe { self.q.add(&[out], &mut [inb]) } {
            Ok(t) => t,
            Err(_) => {
                self.failed = true;
                return Err(Error::Device);
            }
        };
        if self.q.should_notify() {
            self.t.notify(0);
        }
        while !self.q.can_pop() {
            core::hint::spin_loop();
        }
        let out = req.bytes().get(..len).ok_or(Error::TooBig)?;
        let inb = reply.bytes().get_mut(..MAX_MSG).ok_or(Error::TooBig)?;
        // SAFETY: the same buffers as were added with this token.
        match unsafe { self.q.pop_used(token, &[out], &mut [inb]) } {
            Ok(n) => Ok(n as usize),
            Err(_) => {
                self.failed = true;
                Err(Error::Device)
            }
        }
    }
}

/// Finds the virtio-9p devices (the command line says `virtio9p` when the host
/// added some); they wait in a list until [`take`] claims them by tag.
pub(crate) fn init(line: &[u8], info: &crate::BootInfo) {
    crate::devices::for_each_transport(line, info, DeviceType::_9P, &mut |found: super::Found| {
        if let Some(d) = Device::new(found.transport) {
            FOUND.lock().push(d);
        }
        false
    });
}

/// Claims the device whose mount tag is `tag`.
pub fn take(tag: &[u8]) -> Option<Device> {
    let mut found = FOUND.lock();
    let i = found.iter().position(|d| d.tag == tag)?;
    Some(found.swap_remove(i))
}
