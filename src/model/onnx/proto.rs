//! The few ONNX protobuf messages the emitter needs, with a minimal wire-format encoder.
//!
//! Field numbers are those of `onnx/onnx.proto` (proto2: repeated scalars unpacked). Messages
//! are streamed: a nested message's length prefix is found by encoding it into a byte counter
//! first, so a multi-gigabyte model is never held in memory twice.

use std::io;

/// `TensorProto.DataType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataType {
    Float = 1,
    Int64 = 7,
}

#[path = "wire.rs"]
mod wire;
use wire::{float, int, key, message, string, varint, LEN};
pub(crate) use wire::{Message, Sink, Writer};

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
#[path = "proto_tests.rs"]
mod tests;
