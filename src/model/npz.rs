//! Reader for NumPy `.npz` archives: a zip (stored or deflated) of `NAME.npy` entries.
//!
//! The `.npy` header is parsed here, never evaluated: versions 1–3, little- or big-endian
//! `float16`/`float32`/`float64` (converted to f32), C order only. Object arrays (pickles),
//! structured dtypes and Fortran order are refused with the entry named.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::weights::{Tensor, WeightsError};

/// `.npy` magic string.
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Largest header accepted (NumPy itself refuses more than 10 000 bytes by default).
const MAX_HEADER_LEN: usize = 1 << 16;

/// Reads every array of the archive at `path`, keyed by entry name without `.npy`.
pub(crate) fn read(path: &Path) -> Result<BTreeMap<String, Tensor>, WeightsError> {
    let zip_err = |source| WeightsError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|source| WeightsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_err)?;
    let mut tensors = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(zip_err)?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().map_err(zip_err)?.into_owned();
        let entry_err = |why: String| WeightsError::NpzEntry {
            path: path.to_path_buf(),
            entry: entry_name.clone(),
            why,
        };
        let Some(name) = entry_name.strip_suffix(".npy") else {
            let why = if entry_name.ends_with(".pkl") {
                "a Python pickle (a PyTorch checkpoint?), which is never loaded"
            } else {
                "not a .npy array"
            };
            return Err(entry_err(why.into()));
        };
        let size = entry.size();
        let tensor = read_npy(&mut entry, size).map_err(entry_err)?;
        if tensors.insert(name.to_string(), tensor).is_some() {
            return Err(entry_err("appears twice in the archive".into()));
        }
    }
    Ok(tensors)
}

/// The element types we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Float {
    F16,
    F32,
    F64,
}

impl Float {
    fn size(self) -> usize {
        match self {
            Float::F16 => 2,
            Float::F32 => 4,
            Float::F64 => 8,
        }
    }
}

/// What the header says.
#[derive(Debug, PartialEq)]
struct Header {
    dtype: Float,
    big_endian: bool,
    shape: Vec<usize>,
}

/// Reads one `.npy` stream of `size` bytes (as the zip entry declares).
fn read_npy(r: &mut impl Read, size: u64) -> Result<Tensor, String> {
    let truncated = |e: std::io::Error| format!("truncated or unreadable: {e}");
    let mut pre = [0u8; 12];
    r.read_exact(&mut pre[..10]).map_err(truncated)?;
    if &pre[..6] != MAGIC {
        return Err("not a .npy array (bad magic)".into());
    }
    let (header_len, prefix_len) = match pre[6] {
        1 => (u16::from_le_bytes([pre[8], pre[9]]) as usize, 10),
        2 | 3 => {
            r.read_exact(&mut pre[10..12]).map_err(truncated)?;
            let len = u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as usize;
            (len, 12)
        }
        v => return Err(format!("unsupported .npy format version {v}.{}", pre[7])),
    };
    if header_len > MAX_HEADER_LEN {
        return Err(format!("header of {header_len} bytes is implausibly large"));
    }
    let mut text = vec![0u8; header_len];
    r.read_exact(&mut text).map_err(truncated)?;
    let text = std::str::from_utf8(&text).map_err(|_| "header is not UTF-8 text".to_string())?;
    let header = parse_header(text)?;

    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or("shape overflows")?;
    let data_len = count
        .checked_mul(header.dtype.size())
        .ok_or("shape overflows")?;
    let expected = (prefix_len + header_len) as u64 + data_len as u64;
    if size != expected {
        return Err(format!(
            "holds {size} bytes but a {:?} array of shape {:?} needs {expected}",
            header.dtype, header.shape
        ));
    }
    // Grows as bytes really arrive, so a lying size cannot force a huge allocation.
    let mut bytes = Vec::new();
    r.take(data_len as u64)
        .read_to_end(&mut bytes)
        .map_err(truncated)?;
    if bytes.len() != data_len {
        return Err(format!(
            "truncated: {} of {data_len} data bytes",
            bytes.len()
        ));
    }
    // Reading on to the end is what makes the zip reader verify the entry's CRC-32.
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => return Err("trailing bytes after the array data".into()),
        Err(e) => return Err(format!("corrupt data: {e}")),
    }
    let data = decode(&bytes, &header)?;
    Ok(Tensor {
        shape: header.shape,
        data,
    })
}

/// Converts raw element bytes to f32.
fn decode(bytes: &[u8], header: &Header) -> Result<Vec<f32>, String> {
    let be = header.big_endian;
    match header.dtype {
        Float::F32 => Ok(bytes
            .chunks_exact(4)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                if be {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            })
            .collect()),
        Float::F16 => Ok(bytes
            .chunks_exact(2)
            .map(|c| {
                let bits = if be {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                };
                f16_to_f32(bits)
            })
            .collect()),
        Float::F64 => bytes
            .chunks_exact(8)
            .enumerate()
            .map(|(i, c)| {
                let b: [u8; 8] = c.try_into().expect("chunks_exact(8)");
                let v = if be {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                };
                f64_to_f32(v).ok_or_else(|| {
                    format!("float64 value {v:e} at flat index {i} does not fit in float32")
                })
            })
            .collect(),
    }
}

/// Narrows to f32, refusing finite values that would become infinite.
pub(crate) fn f64_to_f32(v: f64) -> Option<f32> {
    let f = v as f32;
    (f.is_finite() || !v.is_finite()).then_some(f)
}

/// IEEE 754 half → single precision, exact.
pub(crate) fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exp = ((bits >> 10) & 0x1f) as u32;
    let man = (bits & 0x3ff) as u32;
    let out = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = man · 2^-24.
            let v = man as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(out)
}

/// A value of the header's Python dict literal.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` without evaluating it.
fn parse_header(text: &str) -> Result<Header, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let entries = p
        .dict()
        .map_err(|why| format!("bad header {text:?}: {why}"))?;
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (key, value) in entries {
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (key, value) => return Err(format!("unexpected header item '{key}': {value:?}")),
        }
    }
    let descr = descr.ok_or("header lacks 'descr'")?;
    let shape = shape.ok_or("header lacks 'shape'")?;
    if fortran.ok_or("header lacks 'fortran_order'")? {
        return Err("Fortran-ordered arrays are not supported (save a C-contiguous array)".into());
    }
    let (big_endian, dtype) = parse_descr(&descr)?;
    Ok(Header {
        dtype,
        big_endian,
        shape,
    })
}

/// `<f4` → (little-endian, F32).
fn parse_descr(descr: &str) -> Result<(bool, Float), String> {
    if descr.contains('O') {
        return Err(format!(
            "dtype '{descr}' is an object array (pickled Python objects), which is never loaded"
        ));
    }
    let (order, kind) = descr.split_at(descr.len().min(1));
    let big_endian = match order {
        "<" => false,
        ">" => true,
        "=" => cfg!(target_endian = "big"),
        _ => {
            return Err(format!(
                "dtype '{descr}' is not supported (expected float16/32/64)"
            ))
        }
    };
    let dtype = match kind {
        "f2" | "e" => Float::F16,
        "f4" | "f" => Float::F32,
        "f8" | "d" => Float::F64,
        _ => {
            return Err(format!(
                "dtype '{descr}' is not supported (expected float16/32/64)"
            ))
        }
    };
    Ok((big_endian, dtype))
}

/// A tiny recursive-descent parser for the header's dict literal.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }

    fn dict(&mut self) -> Result<Vec<(String, Value)>, String> {
        self.expect(b'{')?;
        let mut entries = Vec::new();
        while !self.eat(b'}') {
            let key = self.string()?;
            self.expect(b':')?;
            entries.push((key, self.value()?));
            if !self.eat(b',') {
                self.expect(b'}')?;
                break;
            }
        }
        if self.peek().is_some() {
            return Err(format!("trailing text at byte {}", self.i));
        }
        Ok(entries)
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.peek().filter(|c| *c == b'\'' || *c == b'"');
        let quote = quote.ok_or_else(|| format!("expected a string at byte {}", self.i))?;
        self.i += 1;
        let start = self.i;
        while let Some(&c) = self.s.get(self.i) {
            if c == quote {
                self.i += 1;
                let s = std::str::from_utf8(&self.s[start..self.i - 1]).expect("input is UTF-8");
                return Ok(s.to_string());
            }
            if c == b'\\' {
                return Err("escapes in strings are not supported".into());
            }
            self.i += 1;
        }
        Err("unterminated string".into())
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(Value::Str),
            Some(b'(') => self.tuple().map(Value::Tuple),
            Some(b'[') => {
                Err("structured dtypes are not supported (expected a float array)".into())
            }
            _ => {
                let word = self.word();
                match word {
                    "True" => Ok(Value::Bool(true)),
                    "False" => Ok(Value::Bool(false)),
                    _ => Err(format!("unexpected value '{word}'")),
                }
            }
        }
    }

    fn word(&mut self) -> &str {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).expect("ASCII")
    }

    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        while !self.eat(b')') {
            self.skip_ws();
            let word = self.word();
            // Python 2 wrote longs as `3L`.
            let digits = word.strip_suffix('L').unwrap_or(word);
            let dim = digits
                .parse()
                .map_err(|_| format!("bad dimension '{word}' in shape"))?;
            dims.push(dim);
            if !self.eat(b',') {
                self.expect(b')')?;
                break;
            }
        }
        Ok(dims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([version, 0]);
        if version == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    fn parse(bytes: &[u8]) -> Result<Tensor, String> {
        read_npy(&mut &bytes[..], bytes.len() as u64)
    }

    #[test]
    fn reads_headers_of_every_version() {
        let data: Vec<u8> = [1.0f32, -2.5, 3.0, 0.5, 6.0, 7.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        for version in [1, 2, 3] {
            let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n";
            let t = parse(&npy(version, h, &data)).unwrap();
            assert_eq!(t.shape, vec![2, 3]);
            assert_eq!(t.data, vec![1.0, -2.5, 3.0, 0.5, 6.0, 7.0]);
        }
        let h = "{\"shape\": (6L,), \"fortran_order\": False, \"descr\": \"<f4\"}";
        assert_eq!(parse(&npy(1, h, &data)).unwrap().shape, vec![6]);
    }

    #[test]
    fn converts_float16_float64_and_big_endian() {
        let h = "{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }";
        let halves = [0x3c00u16, 0xc000, 0x0001, 0x7bff];
        let data: Vec<u8> = halves.iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = parse(&npy(1, h, &data)).unwrap();
        assert_eq!(t.data, vec![1.0, -2.0, 2f32.powi(-24), 65504.0]);

        let h = "{'descr': '>f8', 'fortran_order': False, 'shape': (), }";
        let t = parse(&npy(1, h, &0.1f64.to_be_bytes())).unwrap();
        assert_eq!((t.shape.len(), t.data), (0, vec![0.1f32]));

        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
        let err = parse(&npy(1, h, &1e300f64.to_le_bytes())).unwrap_err();
        assert!(err.contains("does not fit"), "{err}");
    }

    #[test]
    fn refuses_pickles_fortran_order_and_other_dtypes() {
        let cases = [
            (
                "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                "object",
            ),
            (
                "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                "Fortran",
            ),
            (
                "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
                "'<i8'",
            ),
            (
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                "structured",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                "unexpected",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
                "dimension",
            ),
            ("{'descr': '<f4', 'fortran_order': False}", "lacks 'shape'"),
            ("__import__('os')", "bad header"),
        ];
        for (h, needle) in cases {
            let err = parse(&npy(1, h, &[0; 8])).unwrap_err();
            assert!(err.contains(needle), "{h}: {err}");
        }
    }

    #[test]
    fn refuses_truncated_or_padded_data_and_bad_magic() {
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
        let bytes = npy(1, h, &[0; 12]);
        assert!(parse(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .contains("needs"));
        let err = read_npy(&mut &bytes[..bytes.len() - 1], bytes.len() as u64).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        assert!(parse(&bytes[..5]).unwrap_err().contains("truncated"));
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(parse(&padded).unwrap_err().contains("needs"));
        assert!(parse(b"PK\x03\x04 not npy").unwrap_err().contains("magic"));
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }";
        assert!(parse(&npy(1, h, &[])).unwrap_err().contains("overflow"));
    }
}
