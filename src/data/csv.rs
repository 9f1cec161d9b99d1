//! Minimal RFC 4180 CSV: quoted fields with `""` escapes, one record per line.

use std::borrow::Cow;

/// A header and its rows (with 1-based line numbers), every row as wide as the header.
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// Parses text; blank lines are skipped, a leading BOM is ignored.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, head) = lines.next().ok_or("empty file: no header line")?;
        let header: Vec<String> = parse_record(head)
            .map_err(|e| format!("line 1: {e}"))?
            .into_iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let mut rows = Vec::new();
        for (n, line) in lines {
            let row = parse_record(line).map_err(|e| format!("line {n}: {e}"))?;
            if row.len() != header.len() {
                return Err(format!(
                    "line {n}: {} fields, the header has {}",
                    row.len(),
                    header.len()
                ));
            }
            rows.push((n, row));
        }
        Ok(Self { header, rows })
    }

    /// Index of a column by (lower-case) name.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// Splits one CSV line into fields.
pub(crate) fn parse_record(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err("text after a closing quote".into());
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            (_, c) => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    fields.push(field);
    Ok(fields)
}

/// A field, quoted when it holds a comma, quote, line break or edge space.
pub(crate) fn field(s: &str) -> Cow<'_, str> {
    let needs = s.contains([',', '"', '\n', '\r']) || s.trim() != s;
    if needs {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// One CSV line (without newline) from fields.
pub(crate) fn record<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    fields.into_iter().map(field).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_round_trip() {
        let fields = ["a,b", "say \"hi\"", "plain", " edge", ""];
        let line = record(fields);
        assert_eq!(line, "\"a,b\",\"say \"\"hi\"\"\",plain,\" edge\",");
        assert_eq!(parse_record(&line).unwrap(), fields);
        assert!(parse_record("\"open").is_err());
        assert!(parse_record("\"a\"b,c").is_err());
    }

    #[test]
    fn csv_table_checks_widths_and_names_lines() {
        let t = Table::parse("\u{feff}Path,Label\n\na.png,cancer\r\nb.png,non-cancer\n").unwrap();
        assert_eq!(t.column("label"), Some(1));
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].0, 4);
        assert_eq!(t.rows[1].1[1], "non-cancer");
        let err = Table::parse("path,label\na.png\n").err().unwrap();
        assert!(err.contains("line 2"), "{err}");
    }
}
