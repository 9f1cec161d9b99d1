//! The `.npy` header: a Python dict literal, parsed (never evaluated) into a [`Header`].

use super::{Float, Header};

/// A value of the header's Python dict literal.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` without evaluating it.
pub(super) fn parse_header(text: &str) -> Result<Header, String> {
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
