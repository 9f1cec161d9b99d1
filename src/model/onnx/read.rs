//! Reading an endoscan ONNX model back into official-layout [`Weights`]: its initializers,
//! unfolded (OIHW kernels back to HWIO, `[C, 1, 1]` GroupNorm vectors back to `[C]`), and its
//! `metadata_props` as the weights' metadata. So a bundled model can be re-exported (with
//! outputs a newer exporter adds) or loaded into libtorch without its checkpoint.
//!
//! Convolution kernels come back *standardized* (the export folds weight standardization into
//! them); standardizing again changes them by at most `1e-10` relative (`fold::WS_EPS`), so the
//! model computes the same. A minimal protobuf reader: every length is checked against the
//! buffer, nothing is executed; models with external data are refused.

use std::collections::BTreeMap;

use crate::model::Tensor;

/// ONNX `TensorProto.DataType.FLOAT`.
const FLOAT: u64 = 1;
/// Initializers the exporter adds that are not checkpoint tensors.
const CONSTANT_PREFIX: &str = "const/";

/// One protobuf field's payload.
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Fields of one message, in order.
struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    fn of(buf: &'a [u8]) -> Self {
        Self { buf, at: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.at).ok_or("truncated varint")?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or("a field runs past the end of its message")?;
        let bytes = &self.buf[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    /// The next `(field number, value)`, `None` at the end.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, String> {
        if self.at == self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
                Value::Bytes(self.take(n)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            wire => return Err(format!("unsupported protobuf wire type {wire}")),
        };
        Ok(Some((key >> 3, value)))
    }
}

/// Every field of `buf` with its number; the first malformed one is an error.
fn fields(buf: &[u8]) -> Result<Vec<(u64, Value<'_>)>, String> {
    let mut f = Fields::of(buf);
    let mut out = Vec::new();
    while let Some(field) = f.next_field()? {
        out.push(field);
    }
    Ok(out)
}

/// An initializer as stored: name, dims and f32 values.
struct Stored {
    name: String,
    dims: Vec<usize>,
    data: Vec<f32>,
}

fn text(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a name is not UTF-8".to_string())
}

/// An initializer and its ONNX data type (only f32 ones are unpacked).
fn tensor(buf: &[u8]) -> Result<(Stored, u64), String> {
    let (mut name, mut dims, mut data) = (String::new(), Vec::new(), Vec::new());
    let mut data_type = 0;
    for (field, value) in fields(buf)? {
        match (field, value) {
            (1, Value::Varint(d)) => dims.push(d as usize),
            (1, Value::Bytes(packed)) => {
                let mut f = Fields::of(packed);
                while f.at < packed.len() {
                    dims.push(f.varint()? as usize);
                }
            }
            (2, Value::Varint(t)) => data_type = t,
            (4, Value::Fixed32(bits)) => data.push(f32::from_bits(bits)),
            (4, Value::Bytes(b)) | (9, Value::Bytes(b)) => {
                if b.len() % 4 != 0 {
                    return Err(format!("tensor '{name}': data is not whole 32-bit values"));
                }
                data.extend(
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
            (8, Value::Bytes(b)) => name = text(b)?,
            (13, _) | (14, Value::Varint(1)) => {
                return Err(format!(
                    "tensor '{name}' keeps its data in an external file"
                ))
            }
            _ => {}
        }
    }
    Ok((Stored { name, dims, data }, data_type))
}

fn check_float(s: Stored, data_type: u64) -> Result<Stored, String> {
    let count: usize = s.dims.iter().product();
    if data_type == FLOAT && count == s.data.len() {
        Ok(s)
    } else if data_type != FLOAT {
        Err(format!("tensor '{}' is not f32 (type {data_type})", s.name))
    } else {
        Err(format!(
            "tensor '{}' has {} values for dims {:?}",
            s.name,
            s.data.len(),
            s.dims
        ))
    }
}

/// Checkpoint tensors by name.
pub type Tensors = BTreeMap<String, Tensor>;
/// `metadata_props` by key.
pub type Metadata = BTreeMap<String, String>;

/// The checkpoint tensors and the metadata of an ONNX model's bytes.
pub fn read(bytes: &[u8]) -> Result<(Tensors, Metadata), String> {
    let (mut tensors, mut metadata) = (BTreeMap::new(), BTreeMap::new());
    let mut graphs = 0;
    for (field, value) in fields(bytes)? {
        match (field, value) {
            (7, Value::Bytes(graph)) => {
                graphs += 1;
                for (f, v) in fields(graph)? {
                    if let (5, Value::Bytes(init)) = (f, v) {
                        let (stored, data_type) = tensor(init)?;
                        if !stored.name.starts_with(CONSTANT_PREFIX) {
                            let stored = check_float(stored, data_type)?;
                            tensors.insert(stored.name.clone(), unfold(stored)?);
                        }
                    }
                }
            }
            (14, Value::Bytes(entry)) => {
                let (mut key, mut val) = (String::new(), String::new());
                for (f, v) in fields(entry)? {
                    match (f, v) {
                        (1, Value::Bytes(b)) => key = text(b)?,
                        (2, Value::Bytes(b)) => val = text(b)?,
                        _ => {}
                    }
                }
                metadata.insert(key, val);
            }
            _ => {}
        }
    }
    if graphs != 1 {
        return Err(format!("expected one graph, found {graphs}"));
    }
    Ok((tensors, metadata))
}

/// An initializer in the checkpoint's layout: 4-D kernels OIHW → HWIO, `[C, 1, 1]` → `[C]`.
fn unfold(s: Stored) -> Result<Tensor, String> {
    match s.dims[..] {
        [co, ci, kh, kw] => {
            let mut data = vec![0.0; s.data.len()];
            for (i, &v) in s.data.iter().enumerate() {
                let x = i % kw;
                let y = (i / kw) % kh;
                let c = (i / (kw * kh)) % ci;
                let o = i / (kw * kh * ci);
                data[((y * kw + x) * ci + c) * co + o] = v;
            }
            Ok(Tensor {
                shape: vec![kh, kw, ci, co],
                data,
            })
        }
        [c, 1, 1] | [c] => Ok(Tensor {
            shape: vec![c],
            data: s.data,
        }),
        _ => Err(format!(
            "initializer '{}' has unexpected dims {:?}",
            s.name, s.dims
        )),
    }
}
