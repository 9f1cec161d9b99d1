//! The batch manifest: a CSV `study_id,input[,model]`, one study a row, paths relative to the
//! manifest's folder. Every problem of every row is reported at once, with its line number.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::data::csv::Table;

/// One study to reprocess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyRow {
    /// Position in the manifest (0-based, header and blank lines not counted): what shards
    /// are cut by.
    pub row: usize,
    /// Line in the manifest file (for messages).
    pub line: usize,
    /// Folder name of the study in the archive.
    pub study_id: String,
    /// Video file or image folder/glob, resolved against the manifest's folder.
    pub input: PathBuf,
    /// Model of this study, resolved likewise; `None`: the batch's `--model`.
    pub model: Option<PathBuf>,
}

/// A read and checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    pub studies: Vec<StudyRow>,
}

/// Whether `id` can name a folder everywhere (no separators, no `..`, no spaces).
fn valid_study_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Manifest {
    /// Reads `path`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the manifest: {e}", path.display()))?;
        Self::parse(path, &text)
    }

    /// Parses manifest `text` read from `path`.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Self> {
        let bad = |problems: Vec<String>| {
            anyhow::anyhow!(
                "{}: not a usable batch manifest:\n  {}",
                path.display(),
                problems.join("\n  ")
            )
        };
        let table = Table::parse(text).map_err(|p| bad(vec![p]))?;
        let (Some(id_col), Some(input_col)) = (table.column("study_id"), table.column("input"))
        else {
            return Err(bad(vec![format!(
                "the header must name the columns study_id and input (and optionally model); found: {}",
                table.header.join(",")
            )]));
        };
        let model_col = table.column("model");
        let root = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &str| root.join(p.trim());
        let (mut studies, mut problems, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
        for (line, fields) in &table.rows {
            let id = fields[id_col].trim();
            let input = fields[input_col].trim();
            if !valid_study_id(id) {
                problems.push(format!(
                    "line {line}: study_id '{id}' must be 1–128 letters, digits, '-', '_' or '.' (a folder name; not starting with '.')"
                ));
            } else if !seen.insert(id.to_string()) {
                problems.push(format!("line {line}: study_id '{id}' appears twice"));
            }
            if input.is_empty() {
                problems.push(format!("line {line}: no input for study '{id}'"));
            }
            let model = model_col
                .map(|c| fields[c].trim())
                .filter(|m| !m.is_empty())
                .map(resolve);
            studies.push(StudyRow {
                row: studies.len(),
                line: *line,
                study_id: id.to_string(),
                input: resolve(input),
                model,
            });
        }
        if studies.is_empty() {
            problems.push("lists no studies".into());
        }
        if !problems.is_empty() {
            return Err(bad(problems));
        }
        Ok(Self {
            path: path.to_path_buf(),
            studies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_resolve_against_the_manifest_folder() {
        let text = "study_id,input,model\ncap-1,videos/a.mp4,\ntower_2, b/*.png ,m/x.onnx\n";
        let m = Manifest::parse(Path::new("/data/m.csv"), text).unwrap();
        assert_eq!(m.studies.len(), 2);
        assert_eq!(m.studies[0].input, PathBuf::from("/data/videos/a.mp4"));
        assert_eq!(m.studies[0].model, None);
        assert_eq!(m.studies[1].input, PathBuf::from("/data/b/*.png"));
        assert_eq!(m.studies[1].model, Some(PathBuf::from("/data/m/x.onnx")));
        assert_eq!((m.studies[1].row, m.studies[1].line), (1, 3));
    }

    #[test]
    fn every_bad_row_is_named_with_its_line() {
        let text = "study_id,input\nok,a.mp4\n../x,b.mp4\nok,c.mp4\nempty,\n";
        let err = Manifest::parse(Path::new("m.csv"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.csv"), "{err}");
        assert!(err.contains("line 3: study_id '../x'"), "{err}");
        assert!(err.contains("line 4: study_id 'ok' appears twice"), "{err}");
        assert!(err.contains("line 5: no input"), "{err}");
    }

    #[test]
    fn a_header_without_the_columns_is_refused() {
        let err = Manifest::parse(Path::new("m.csv"), "path,label\na,b\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("study_id and input"), "{err}");
        let err = Manifest::parse(Path::new("m.csv"), "study_id,input\n").unwrap_err();
        assert!(err.to_string().contains("lists no studies"), "{err}");
    }
}
