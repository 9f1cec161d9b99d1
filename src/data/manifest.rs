//! Reading a `path,label[,patient_id]` CSV manifest.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::csv;
use super::{BadImage, DataError, Sample};

/// Reads a `path,label[,patient_id]` manifest; files that do not exist are bad images, every
/// malformed row is reported together.
pub(super) fn read_manifest(
    csv_path: &Path,
    classes: &[String],
) -> Result<(Vec<Sample>, Vec<BadImage>), DataError> {
    let text = std::fs::read_to_string(csv_path).map_err(|source| DataError::Io {
        path: csv_path.to_path_buf(),
        source,
    })?;
    let manifest_err = |problems| DataError::Manifest {
        path: csv_path.to_path_buf(),
        problems,
    };
    let table = csv::Table::parse(&text).map_err(|problem| manifest_err(vec![problem]))?;
    let columns = Columns::of(&table).map_err(|problem| manifest_err(vec![problem]))?;
    let root = csv_path.parent().unwrap_or(Path::new(""));
    let rows = read_rows(&table, &columns, root, classes);
    if !rows.problems.is_empty() {
        return Err(manifest_err(rows.problems));
    }
    if rows.samples.is_empty() && rows.bad.is_empty() {
        return Err(manifest_err(vec!["lists no images".into()]));
    }
    Ok((rows.samples, rows.bad))
}

/// Where the manifest's columns are.
struct Columns {
    path: usize,
    label: usize,
    patient: Option<usize>,
}

impl Columns {
    /// Finds `path` and `label` (required) and `patient_id` or `patient` in the header.
    fn of(table: &csv::Table) -> Result<Self, String> {
        let (Some(path), Some(label)) = (table.column("path"), table.column("label")) else {
            return Err(format!(
                "header must name the columns 'path' and 'label' (found: {})",
                table.header.join(",")
            ));
        };
        let patient = table
            .column("patient_id")
            .or_else(|| table.column("patient"));
        Ok(Self {
            path,
            label,
            patient,
        })
    }
}

/// What the rows of a manifest gave.
#[derive(Default)]
struct Rows {
    samples: Vec<Sample>,
    bad: Vec<BadImage>,
    /// Malformed rows, by line.
    problems: Vec<String>,
}

/// Reads every row: a sample, a bad image (missing file) or a problem.
fn read_rows(table: &csv::Table, columns: &Columns, root: &Path, classes: &[String]) -> Rows {
    let by_name: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut out = Rows::default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, row) in &table.rows {
        let key = row[columns.path].trim();
        let label = row[columns.label].trim();
        if key.is_empty() {
            out.problems.push(format!("line {line}: empty path"));
            continue;
        }
        let Some(&label_idx) = by_name.get(label) else {
            out.problems.push(format!(
                "line {line}: unknown label '{label}' (expected one of: {})",
                classes.join(", ")
            ));
            continue;
        };
        if let Some(first) = seen.insert(key.to_string(), *line) {
            out.problems.push(format!(
                "line {line}: '{key}' already listed on line {first}"
            ));
            continue;
        }
        let path = root.join(key);
        if !path.is_file() {
            out.bad.push(BadImage {
                path,
                reason: "no such file".into(),
            });
            continue;
        }
        let patient = columns
            .patient
            .map(|c| row[c].trim())
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        out.samples.push(Sample {
            path,
            key: key.to_string(),
            label: label_idx,
            patient,
        });
    }
    out
}
