//! The protobuf wire format, as far as the ONNX emitter needs it: varints, keys, length-
//! delimited fields and fixed32 floats, into a [`Sink`] that counts or writes.

use std::io::{self, Write};

/// Where encoded bytes go: a counter (for length prefixes) or a writer.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Writes f32 values little-endian.
    fn put_f32s(&mut self, values: &[f32]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(values.len().min(1 << 16) * 4);
        for chunk in values.chunks(1 << 16) {
            buf.clear();
            buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
            self.put(&buf)?;
        }
        Ok(())
    }
}

/// Counts bytes without storing them.
#[derive(Default)]
pub(crate) struct Counter(pub u64);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0 += bytes.len() as u64;
        Ok(())
    }

    fn put_f32s(&mut self, values: &[f32]) -> io::Result<()> {
        self.0 += values.len() as u64 * 4;
        Ok(())
    }
}

/// Writes bytes to any [`Write`].
pub(crate) struct Writer<W: Write>(pub W);

impl<W: Write> Sink for Writer<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
}

/// A protobuf message: writes its fields.
pub(crate) trait Message {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()>;

    /// Encoded size in bytes.
    fn encoded_len(&self) -> u64 {
        let mut counter = Counter::default();
        self.write_fields(&mut counter)
            .expect("counting bytes cannot fail");
        counter.0
    }
}

pub(super) const VARINT: u64 = 0;
pub(super) const LEN: u64 = 2;
pub(super) const FIXED32: u64 = 5;

pub(super) fn varint<S: Sink>(s: &mut S, mut v: u64) -> io::Result<()> {
    let mut buf = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf[n] = byte;
            n += 1;
            break;
        }
        buf[n] = byte | 0x80;
        n += 1;
    }
    s.put(&buf[..n])
}

pub(super) fn key<S: Sink>(s: &mut S, field: u32, wire: u64) -> io::Result<()> {
    varint(s, (u64::from(field) << 3) | wire)
}

/// `int64`/`int32`/enum field (negative values take ten bytes, as protobuf specifies).
pub(super) fn int<S: Sink>(s: &mut S, field: u32, v: i64) -> io::Result<()> {
    key(s, field, VARINT)?;
    varint(s, v as u64)
}

pub(super) fn bytes<S: Sink>(s: &mut S, field: u32, b: &[u8]) -> io::Result<()> {
    key(s, field, LEN)?;
    varint(s, b.len() as u64)?;
    s.put(b)
}

pub(super) fn string<S: Sink>(s: &mut S, field: u32, v: &str) -> io::Result<()> {
    bytes(s, field, v.as_bytes())
}

pub(super) fn float<S: Sink>(s: &mut S, field: u32, v: f32) -> io::Result<()> {
    key(s, field, FIXED32)?;
    s.put(&v.to_le_bytes())
}

pub(super) fn message<S: Sink, M: Message>(s: &mut S, field: u32, m: &M) -> io::Result<()> {
    key(s, field, LEN)?;
    varint(s, m.encoded_len())?;
    m.write_fields(s)
}
