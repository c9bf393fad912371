//! The host's console framing decoder (run-scripts/src/frame.rs, included by path) on
//! any bytes cut into any chunks: it never panics, never emits an empty data run, and
//! decodes the same events however the stream is cut. Data escaped for the guest
//! direction with `escape_into` and framed on a channel decodes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../run-scripts/src/frame.rs"]
mod frame;

use frame::{Channel, Decoder, Event, ProtocolError};

#[derive(Debug, PartialEq, Eq)]
enum Owned {
    Data(Channel, Vec<u8>),
    Status(u8),
    Crash,
    Error(ProtocolError),
}

fn decode(chunks: &[&[u8]]) -> (Vec<Owned>, bool) {
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
    (out, d.is_mid_frame())
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else { return };
    let whole = decode(&[stream]);
    let step = usize::from(cut % 17) + 1;
    let pieces: Vec<&[u8]> = stream.chunks(step).collect();
    assert_eq!(decode(&pieces), whole, "chunks of {step}");
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(decode(&bytes), whole, "byte by byte");

    // Round trip of arbitrary data on the stderr channel, then a status.
    let mut framed = b"\xff2".to_vec();
    frame::escape_into(stream, &mut framed);
    framed.extend_from_slice(&[0xff, b'x']);
    framed.extend_from_slice(cut.to_string().as_bytes());
    framed.push(b'\n');
    let (events, mid) = decode(&[&framed]);
    let mut expect = Vec::new();
    if !stream.is_empty() {
        expect.push(Owned::Data(Channel::Stderr, stream.to_vec()));
    }
    expect.push(Owned::Status(cut));
    assert_eq!(events, expect);
    assert!(!mid);
});
