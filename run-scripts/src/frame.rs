//! Streaming decoder of the guest console framing (docs/protocol.md, "Console framing").
//!
//! The guest multiplexes the program's stdout and stderr, kernel messages and the exit
//! report on one serial port; `0xFF` introduces a control code. [`Decoder`] turns the
//! byte stream, cut into arbitrary chunks, back into [`Event`]s. It is pure: no I/O,
//! no allocation, no panics on any input.

use std::fmt;

/// The escape byte that introduces a control code.
pub const ESC: u8 = 0xFF;

/// Where data bytes of the console stream belong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// The program's standard output (`FF '1'`).
    Stdout,
    /// The program's standard error (`FF '2'`).
    Stderr,
    /// Kernel messages (`FF 'k'`); the channel at boot.
    Kernel,
}

/// One decoded piece of the console stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Data bytes on a channel, in stream order.
    Data(Channel, &'a [u8]),
    /// The program ended with this status (`FF 'x' <decimal> '\n'`).
    Status(u8),
    /// The kernel crashed (`FF 'p'`); its report went to the kernel channel.
    Crash,
    /// The stream broke the protocol; decoding goes on after the offending byte.
    Error(ProtocolError),
}

/// A violation of the framing, reported instead of panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// `FF` followed by a byte that is no known control code.
    UnknownControl(u8),
    /// A status frame holding a byte other than a decimal digit or the final `'\n'`.
    StatusByte(u8),
    /// A status frame with no digits or a value above 255.
    StatusRange,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProtocolError::UnknownControl(b) => {
                write!(f, "unknown control code 0x{b:02x} after 0xff")
            }
            ProtocolError::StatusByte(b) => {
                write!(f, "unexpected byte 0x{b:02x} in an exit status frame")
            }
            ProtocolError::StatusRange => f.write_str("exit status frame out of range 0-255"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Plain data on the current channel.
    Data,
    /// After an `FF`, waiting for the control code.
    Escape,
    /// Inside `FF 'x' …`, accumulating digits up to `'\n'`.
    Status { value: u32, digits: u8 },
}

/// Most digits a status frame may hold ("255" needs 3; leading zeros allowed a little).
const MAX_STATUS_DIGITS: u8 = 8;

/// Streaming decoder: feed it chunks as they arrive, split anywhere.
#[derive(Clone, Debug)]
pub struct Decoder {
    channel: Channel,
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder in the boot state: kernel channel, no pending escape.
    pub fn new() -> Self {
        Decoder { channel: Channel::Kernel, state: State::Data }
    }

    /// Decodes `input`, calling `emit` for every event in stream order. Data runs are
    /// passed as sub-slices of `input` (a literal `FF FF` as a one-byte static slice).
    pub fn feed<'a>(&mut self, input: &'a [u8], mut emit: impl FnMut(Event<'a>)) {
        // Start of the pending data run in `input`, while in `State::Data`.
        let mut run_start = 0;
        for (i, &b) in input.iter().enumerate() {
            match self.state {
                State::Data => {
                    if b == ESC {
                        if let Some(run) = input.get(run_start..i).filter(|r| !r.is_empty()) {
                            emit(Event::Data(self.channel, run));
                        }
                        self.state = State::Escape;
                    }
                }
                State::Escape => {
                    self.state = State::Data;
                    match b {
                        ESC => emit(Event::Data(self.channel, &[ESC])),
                        b'1' => self.channel = Channel::Stdout,
                        b'2' => self.channel = Channel::Stderr,
                        b'k' => self.channel = Channel::Kernel,
                        b'x' => self.state = State::Status { value: 0, digits: 0 },
                        b'p' => emit(Event::Crash),
                        other => emit(Event::Error(ProtocolError::UnknownControl(other))),
                    }
                    run_start = i.saturating_add(1);
                }
                State::Status { value, digits } => match b {
                    b'0'..=b'9' if digits < MAX_STATUS_DIGITS => {
                        let value = value.saturating_mul(10).saturating_add(u32::from(b - b'0'));
                        self.state = State::Status { value, digits: digits.saturating_add(1) };
                        run_start = i.saturating_add(1);
                    }
                    b'0'..=b'9' => {
                        // Too many digits: abandon the frame; this digit is data again.
                        self.state = State::Data;
                        emit(Event::Error(ProtocolError::StatusRange));
                        run_start = i;
                    }
                    b'\n' => {
                        self.state = State::Data;
                        match u8::try_from(value) {
                            Ok(status) if digits > 0 => emit(Event::Status(status)),
                            _ => emit(Event::Error(ProtocolError::StatusRange)),
                        }
                        run_start = i.saturating_add(1);
                    }
                    other => {
                        // Abandon the frame; the byte itself is ordinary stream input
                        // again (it may start a new escape).
                        emit(Event::Error(ProtocolError::StatusByte(other)));
                        if other == ESC {
                            self.state = State::Escape;
                        } else {
                            self.state = State::Data;
                            run_start = i;
                        }
                    }
                },
            }
        }
        if self.state == State::Data {
            if let Some(run) = input.get(run_start..).filter(|r| !r.is_empty()) {
                emit(Event::Data(self.channel, run));
            }
        }
    }

    /// True when the stream ended in the middle of a control sequence.
    pub fn is_mid_frame(&self) -> bool {
        self.state != State::Data
    }
}

/// Escapes bytes for the host → guest direction (stdin): `FF` becomes `FF FF`.
pub fn escape_into(input: &[u8], out: &mut Vec<u8>) {
    for &b in input {
        out.push(b);
        if b == ESC {
            out.push(ESC);
        }
    }
}

/// The host → guest end-of-file marker on stdin.
pub const STDIN_EOF: [u8; 2] = [ESC, b'e'];

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned, merged view of the events, so that different chunkings compare equal.
    #[derive(Debug, PartialEq, Eq)]
    enum Owned {
        Data(Channel, Vec<u8>),
        Status(u8),
        Crash,
        Error(ProtocolError),
    }

    fn decode(chunks: &[&[u8]]) -> (Vec<Owned>, Decoder) {
        let mut d = Decoder::new();
        let mut out: Vec<Owned> = Vec::new();
        for chunk in chunks {
            d.feed(chunk, |ev| match ev {
                Event::Data(ch, bytes) => {
                    assert!(!bytes.is_empty(), "empty data event");
                    match out.last_mut() {
                        Some(Owned::Data(c, v)) if *c == ch => v.extend_from_slice(bytes),
                        _ => out.push(Owned::Data(ch, bytes.to_vec())),
                    }
                }
                Event::Status(s) => out.push(Owned::Status(s)),
                Event::Crash => out.push(Owned::Crash),
                Event::Error(e) => out.push(Owned::Error(e)),
            });
        }
        (out, d)
    }

    /// Every way of cutting `input` into two or three pieces, plus byte by byte, must
    /// decode to the same events as the whole.
    fn check_all_splits(input: &[u8], expect: &[Owned]) {
        let (whole, _) = decode(&[input]);
        assert_eq!(whole, expect, "whole input");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode(&bytes).0, expect, "byte by byte");
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let (a, rest) = input.split_at(i);
                let (b, c) = rest.split_at(j - i);
                assert_eq!(decode(&[a, b, c]).0, expect, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn boot_channel_is_kernel() {
        check_all_splits(b"booting\n", &[Owned::Data(Channel::Kernel, b"booting\n".to_vec())]);
    }

    #[test]
    fn channels_escapes_and_status() {
        let input = b"\xffkhello k\n\xff1out\xff\xffput\n\xff2err\n\xff1more\xffx42\n";
        check_all_splits(
            input,
            &[
                Owned::Data(Channel::Kernel, b"hello k\n".to_vec()),
                Owned::Data(Channel::Stdout, b"out\xffput\n".to_vec()),
                Owned::Data(Channel::Stderr, b"err\n".to_vec()),
                Owned::Data(Channel::Stdout, b"more".to_vec()),
                Owned::Status(42),
            ],
        );
    }

    #[test]
    fn statuses_at_the_edges() {
        check_all_splits(b"\xffx0\n", &[Owned::Status(0)]);
        check_all_splits(b"\xffx255\n", &[Owned::Status(255)]);
        check_all_splits(b"\xffx139\n", &[Owned::Status(139)]);
        check_all_splits(b"\xffx256\n", &[Owned::Error(ProtocolError::StatusRange)]);
        check_all_splits(b"\xffx\n", &[Owned::Error(ProtocolError::StatusRange)]);
        check_all_splits(
            b"\xffx99999999999\n",
            &[
                Owned::Error(ProtocolError::StatusRange),
                // The frame was abandoned; the rest is data on the boot channel.
                Owned::Data(Channel::Kernel, b"999\n".to_vec()),
            ],
        );
    }

    #[test]
    fn crash_frame() {
        check_all_splits(
            b"\xffkpanic: oops\n\xffp",
            &[Owned::Data(Channel::Kernel, b"panic: oops\n".to_vec()), Owned::Crash],
        );
    }

    #[test]
    fn unknown_control_is_an_error_not_a_panic() {
        check_all_splits(
            b"a\xffZb",
            &[
                Owned::Data(Channel::Kernel, b"a".to_vec()),
                Owned::Error(ProtocolError::UnknownControl(b'Z')),
                Owned::Data(Channel::Kernel, b"b".to_vec()),
            ],
        );
    }

    #[test]
    fn bad_status_byte_is_reprocessed() {
        check_all_splits(
            b"\xffx4a\n",
            &[Owned::Error(ProtocolError::StatusByte(b'a')), Owned::Data(Channel::Kernel, b"a\n".to_vec())],
        );
        check_all_splits(
            b"\xffx4\xff1ok",
            &[Owned::Error(ProtocolError::StatusByte(0xff)), Owned::Data(Channel::Stdout, b"ok".to_vec())],
        );
    }

    #[test]
    fn dangling_escape_at_end() {
        let (ev, d) = decode(&[b"x\xff"]);
        assert_eq!(ev, [Owned::Data(Channel::Kernel, b"x".to_vec())]);
        assert!(d.is_mid_frame());
        let (_, d) = decode(&[b"\xff1"]);
        assert!(!d.is_mid_frame());
    }

    #[test]
    fn every_byte_value_survives_the_round_trip() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut framed = b"\xff1".to_vec();
        escape_into(&data, &mut framed);
        framed.extend_from_slice(b"\xffx7\n");
        let (ev, _) = decode(&[&framed]);
        assert_eq!(ev, [Owned::Data(Channel::Stdout, data), Owned::Status(7)]);
    }

    #[test]
    fn random_garbage_never_panics() {
        // A small xorshift generator: deterministic, no dependency.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut buf = vec![0u8; 4096];
        for _ in 0..200 {
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Bias towards the interesting bytes.
                *b = match x % 8 {
                    0 | 1 => ESC,
                    2 => b"12kxpe\n9"[(x >> 8) as usize % 8],
                    _ => (x >> 16) as u8,
                };
            }
            let mut d = Decoder::new();
            for chunk in buf.chunks(((x >> 24) % 97 + 1) as usize) {
                d.feed(chunk, |_| {});
            }
        }
    }

    #[test]
    fn escape_doubles_ff_only() {
        let mut out = Vec::new();
        escape_into(b"a\xffb\xff\xff", &mut out);
        assert_eq!(out, b"a\xff\xffb\xff\xff\xff\xff");
    }
}
