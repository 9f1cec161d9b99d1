//! The few ONNX protobuf messages the emitter needs, with a minimal wire-format encoder.
//!
//! Field numbers are those of `onnx/onnx.proto` (proto2: repeated scalars unpacked). Messages
//! are streamed: a nested message's length prefix is found by encoding it into a byte counter
//! first, so a multi-gigabyte model is never held in memory twice.

use std::io::{self, Write};

/// `TensorProto.DataType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataType {
    Float = 1,
    Int64 = 7,
}

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

const VARINT: u64 = 0;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

fn varint<S: Sink>(s: &mut S, mut v: u64) -> io::Result<()> {
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

fn key<S: Sink>(s: &mut S, field: u32, wire: u64) -> io::Result<()> {
    varint(s, (u64::from(field) << 3) | wire)
}

/// `int64`/`int32`/enum field (negative values take ten bytes, as protobuf specifies).
fn int<S: Sink>(s: &mut S, field: u32, v: i64) -> io::Result<()> {
    key(s, field, VARINT)?;
    varint(s, v as u64)
}

fn bytes<S: Sink>(s: &mut S, field: u32, b: &[u8]) -> io::Result<()> {
    key(s, field, LEN)?;
    varint(s, b.len() as u64)?;
    s.put(b)
}

fn string<S: Sink>(s: &mut S, field: u32, v: &str) -> io::Result<()> {
    bytes(s, field, v.as_bytes())
}

fn float<S: Sink>(s: &mut S, field: u32, v: f32) -> io::Result<()> {
    key(s, field, FIXED32)?;
    s.put(&v.to_le_bytes())
}

fn message<S: Sink, M: Message>(s: &mut S, field: u32, m: &M) -> io::Result<()> {
    key(s, field, LEN)?;
    varint(s, m.encoded_len())?;
    m.write_fields(s)
}

/// `OperatorSetIdProto`.
pub(crate) struct OpsetId {
    pub domain: String,
    pub version: i64,
}

impl Message for OpsetId {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        if !self.domain.is_empty() {
            string(s, 1, &self.domain)?;
        }
        int(s, 2, self.version)
    }
}

/// `StringStringEntryProto`.
pub(crate) struct Entry<'a>(pub &'a str, pub &'a str);

impl Message for Entry<'_> {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        string(s, 1, self.0)?;
        string(s, 2, self.1)
    }
}

/// `ModelProto`.
pub(crate) struct Model<'a> {
    pub ir_version: i64,
    pub opset: Vec<OpsetId>,
    pub producer_name: String,
    pub producer_version: String,
    pub doc_string: String,
    pub graph: Graph<'a>,
    pub metadata: Vec<(String, String)>,
}

impl Message for Model<'_> {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        int(s, 1, self.ir_version)?;
        string(s, 2, &self.producer_name)?;
        string(s, 3, &self.producer_version)?;
        if !self.doc_string.is_empty() {
            string(s, 6, &self.doc_string)?;
        }
        message(s, 7, &self.graph)?;
        for opset in &self.opset {
            message(s, 8, opset)?;
        }
        for (k, v) in &self.metadata {
            message(s, 14, &Entry(k, v))?;
        }
        Ok(())
    }
}

/// `GraphProto`.
pub(crate) struct Graph<'a> {
    pub name: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<TensorProto<'a>>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

impl Message for Graph<'_> {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        for node in &self.nodes {
            message(s, 1, node)?;
        }
        string(s, 2, &self.name)?;
        for init in &self.initializers {
            message(s, 5, init)?;
        }
        for input in &self.inputs {
            message(s, 11, input)?;
        }
        for output in &self.outputs {
            message(s, 12, output)?;
        }
        Ok(())
    }
}

/// `NodeProto`.
pub(crate) struct Node {
    pub name: String,
    pub op_type: &'static str,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

impl Message for Node {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        for input in &self.inputs {
            string(s, 1, input)?;
        }
        for output in &self.outputs {
            string(s, 2, output)?;
        }
        string(s, 3, &self.name)?;
        string(s, 4, self.op_type)?;
        for attr in &self.attributes {
            message(s, 5, attr)?;
        }
        Ok(())
    }
}

/// `AttributeProto` of the kinds the graph uses.
pub(crate) enum Attribute {
    Int(&'static str, i64),
    Float(&'static str, f32),
    Ints(&'static str, Vec<i64>),
}

impl Message for Attribute {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        // AttributeProto.AttributeType: FLOAT = 1, INT = 2, INTS = 7.
        match self {
            Attribute::Float(name, v) => {
                string(s, 1, name)?;
                float(s, 2, *v)?;
                int(s, 20, 1)
            }
            Attribute::Int(name, v) => {
                string(s, 1, name)?;
                int(s, 3, *v)?;
                int(s, 20, 2)
            }
            Attribute::Ints(name, vs) => {
                string(s, 1, name)?;
                for v in vs {
                    int(s, 8, *v)?;
                }
                int(s, 20, 7)
            }
        }
    }
}

/// Tensor contents, stored as `raw_data` (little-endian).
pub(crate) enum Data<'a> {
    F32(std::borrow::Cow<'a, [f32]>),
    I64(Vec<i64>),
}

/// Where a tensor's bytes live when not inline: a file next to the model.
pub(crate) struct External {
    pub location: String,
    pub offset: u64,
    pub length: u64,
}

/// `TensorProto`.
pub(crate) struct TensorProto<'a> {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: Data<'a>,
    /// Set when `data` is stored in an external file instead of `raw_data`.
    pub external: Option<External>,
}

impl TensorProto<'_> {
    /// Size of the data in bytes.
    pub fn data_len(&self) -> u64 {
        match &self.data {
            Data::F32(v) => v.len() as u64 * 4,
            Data::I64(v) => v.len() as u64 * 8,
        }
    }

    /// Writes the raw little-endian data (for inline `raw_data` or an external file).
    pub fn write_data<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        match &self.data {
            Data::F32(values) => s.put_f32s(values),
            Data::I64(values) => {
                let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                s.put(&raw)
            }
        }
    }
}

impl Message for TensorProto<'_> {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        for d in &self.dims {
            int(s, 1, *d)?;
        }
        let data_type = match self.data {
            Data::F32(_) => DataType::Float,
            Data::I64(_) => DataType::Int64,
        };
        int(s, 2, data_type as i64)?;
        string(s, 8, &self.name)?;
        match &self.external {
            None => {
                key(s, 9, LEN)?;
                varint(s, self.data_len())?;
                self.write_data(s)
            }
            Some(ext) => {
                let (offset, length) = (ext.offset.to_string(), ext.length.to_string());
                message(s, 13, &Entry("location", &ext.location))?;
                message(s, 13, &Entry("offset", &offset))?;
                message(s, 13, &Entry("length", &length))?;
                // TensorProto.DataLocation.EXTERNAL
                int(s, 14, 1)
            }
        }
    }
}

/// One dimension of a `TensorShapeProto`.
pub(crate) enum Dim {
    Value(i64),
    Param(String),
}

impl Message for Dim {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        match self {
            Dim::Value(v) => int(s, 1, *v),
            Dim::Param(p) => string(s, 2, p),
        }
    }
}

/// `TensorShapeProto`.
struct Shape<'a>(&'a [Dim]);

impl Message for Shape<'_> {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        for dim in self.0 {
            message(s, 1, dim)?;
        }
        Ok(())
    }
}

/// `TypeProto.Tensor`.
struct TensorType<'a>(DataType, &'a [Dim]);

impl Message for TensorType<'_> {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        int(s, 1, self.0 as i64)?;
        message(s, 2, &Shape(self.1))
    }
}

/// `TypeProto` holding a tensor type.
struct TypeProto<'a>(TensorType<'a>);

impl Message for TypeProto<'_> {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        message(s, 1, &self.0)
    }
}

/// `ValueInfoProto` of a tensor.
pub(crate) struct ValueInfo {
    pub name: String,
    pub elem_type: DataType,
    pub dims: Vec<Dim>,
}

impl Message for ValueInfo {
    fn write_fields<S: Sink>(&self, s: &mut S) -> io::Result<()> {
        string(s, 1, &self.name)?;
        message(s, 2, &TypeProto(TensorType(self.elem_type, &self.dims)))
    }
}

/// Encodes a message into a byte vector (for small messages and tests).
pub(crate) fn to_vec<M: Message>(m: &M) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(m.encoded_len() as usize));
    m.write_fields(&mut w)
        .expect("writing to a Vec cannot fail");
    w.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_spec() {
        let enc = |v: u64| {
            let mut w = Writer(Vec::new());
            varint(&mut w, v).unwrap();
            w.0
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(1), [0x01]);
        assert_eq!(enc(150), [0x96, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        assert_eq!(enc(u64::MAX).len(), 10);
        assert_eq!(
            enc(-1i64 as u64),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn small_messages_encode_as_protoc_would() {
        let opset = OpsetId {
            domain: String::new(),
            version: 17,
        };
        assert_eq!(to_vec(&opset), [0x10, 0x11]);
        assert_eq!(to_vec(&Entry("k", "v")), [0x0a, 1, b'k', 0x12, 1, b'v']);
        let eps = Attribute::Float("epsilon", 1e-5);
        let mut want = vec![0x0a, 7];
        want.extend(b"epsilon");
        want.push(0x15);
        want.extend(1e-5f32.to_le_bytes());
        want.extend([0xa0, 0x01, 0x01]);
        assert_eq!(to_vec(&eps), want);
        let t = TensorProto {
            name: "w".into(),
            dims: vec![2],
            data: Data::F32(vec![1.0, -1.0].into()),
            external: None,
        };
        let mut want = vec![0x08, 2, 0x10, 1, 0x42, 1, b'w', 0x4a, 8];
        want.extend(1.0f32.to_le_bytes());
        want.extend((-1.0f32).to_le_bytes());
        assert_eq!(to_vec(&t), want);
    }

    #[test]
    fn counted_length_equals_written_length() {
        let info = ValueInfo {
            name: "image".into(),
            elem_type: DataType::Float,
            dims: vec![Dim::Param("batch".into()), Dim::Value(3)],
        };
        assert_eq!(info.encoded_len() as usize, to_vec(&info).len());
        let big = TensorProto {
            name: "big".into(),
            dims: vec![100_000],
            data: Data::F32(vec![0.5; 100_000].into()),
            external: None,
        };
        assert_eq!(big.encoded_len() as usize, to_vec(&big).len());
    }
}
