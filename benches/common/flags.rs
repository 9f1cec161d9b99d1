//! The benchmarks' `--flag value` command lines (cargo's own `--bench` dropped).

use std::fmt::Display;
use std::str::FromStr;

/// Hands each `--flag value` pair of the command line to `apply`; an error names the pair.
pub fn parse(mut apply: impl FnMut(&str, &str) -> Result<(), String>) -> Result<(), String> {
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        apply(&flag, &value).map_err(|e| format!("{flag} {value}: {e}"))?;
    }
    Ok(())
}

/// `value` parsed as a `T`, the parser's complaint as text.
pub fn value<T: FromStr>(value: &str) -> Result<T, String>
where
    T::Err: Display,
{
    value.parse().map_err(|e: T::Err| e.to_string())
}

/// The complaint about a flag no benchmark knows.
pub fn unknown() -> Result<(), String> {
    Err("unknown flag".to_string())
}
