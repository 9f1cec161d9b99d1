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
    let table = csv::Table::parse(&text).map_err(|problem| DataError::Manifest {
        path: csv_path.to_path_buf(),
        problems: vec![problem],
    })?;
    let manifest_err = |problems| DataError::Manifest {
        path: csv_path.to_path_buf(),
        problems,
    };
    let path_col = table.column("path");
    let label_col = table.column("label");
    let (Some(path_col), Some(label_col)) = (path_col, label_col) else {
        return Err(manifest_err(vec![format!(
            "header must name the columns 'path' and 'label' (found: {})",
            table.header.join(",")
        )]));
    };
    let patient_col = table
        .column("patient_id")
        .or_else(|| table.column("patient"));
    let root = csv_path.parent().unwrap_or(Path::new(""));
    let by_name: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut problems = Vec::new();
    let mut samples = Vec::new();
    let mut bad = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, row) in &table.rows {
        let key = row[path_col].trim();
        let label = row[label_col].trim();
        if key.is_empty() {
            problems.push(format!("line {line}: empty path"));
            continue;
        }
        let Some(&label_idx) = by_name.get(label) else {
            problems.push(format!(
                "line {line}: unknown label '{label}' (expected one of: {})",
                classes.join(", ")
            ));
            continue;
        };
        if let Some(first) = seen.insert(key.to_string(), *line) {
            problems.push(format!(
                "line {line}: '{key}' already listed on line {first}"
            ));
            continue;
        }
        let path = root.join(key);
        if !path.is_file() {
            bad.push(BadImage {
                path,
                reason: "no such file".into(),
            });
            continue;
        }
        let patient = patient_col
            .map(|c| row[c].trim())
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        samples.push(Sample {
            path,
            key: key.to_string(),
            label: label_idx,
            patient,
        });
    }
    if !problems.is_empty() {
        return Err(manifest_err(problems));
    }
    if samples.is_empty() && bad.is_empty() {
        return Err(manifest_err(vec!["lists no images".into()]));
    }
    Ok((samples, bad))
}
