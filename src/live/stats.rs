//! The stats file of `endoscan live --stats FILE`: what the run delivered, as JSON.
//!
//! Input: the run's rates, frame counts, latency and model-time percentiles, reconnects and
//! the seconds the AI was off. Output: a pretty JSON object with exactly the keys of
//! [`LiveStats`], written atomically (a reader never sees half a file). Fails when the file
//! cannot be written; the error names the path.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::latency::Percentiles;

/// What became of the source's frames.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct FrameCounts {
    /// Frames the source delivered.
    pub captured: u64,
    /// Frames shown (with the overlay).
    pub displayed: u64,
    /// Frames the model scored.
    pub inferred: u64,
    /// Frames the model never saw (a newer frame displaced them).
    pub skipped: u64,
}

/// Model time per inferred frame (ms).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ModelMs {
    pub p50: f64,
    pub p99: f64,
}

impl From<Percentiles> for ModelMs {
    fn from(p: Percentiles) -> Self {
        Self {
            p50: p.p50,
            p99: p.p99,
        }
    }
}

/// The stats of one live run (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveStats {
    pub source_fps: f64,
    pub display_fps: f64,
    pub inferred_fps: f64,
    pub frames: FrameCounts,
    /// Capture-to-display latency (ms); zeros if no sample.
    pub latency_ms: Percentiles,
    pub model_ms: ModelMs,
    /// Times the source was lost and came back.
    pub reconnects: u64,
    /// Seconds the AI was off (no signal, model down).
    pub ai_off_s: f64,
}

/// Writes `stats` as pretty JSON to `path` atomically (temp file + rename; see src/util/atomic.rs); the error names the path.
pub fn write_stats(path: &Path, stats: &LiveStats) -> anyhow::Result<()> {
    let mut json = serde_json::to_vec_pretty(stats).context("serialising the live stats")?;
    json.push(b'\n');
    crate::util::atomic::write(path, &json)
        .with_context(|| format!("writing the live stats to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn the_file_has_exactly_the_documented_keys() {
        let dir = std::env::temp_dir().join(format!("endoscan-live-stats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stats.json");
        let stats = LiveStats {
            source_fps: 60.0,
            display_fps: 59.5,
            inferred_fps: 30.25,
            frames: FrameCounts {
                captured: 600,
                displayed: 595,
                inferred: 302,
                skipped: 293,
            },
            latency_ms: Percentiles {
                p50: 20.5,
                p95: 31.0,
                p99: 40.0,
                max: 55.5,
            },
            model_ms: ModelMs {
                p50: 12.0,
                p99: 18.5,
            },
            reconnects: 1,
            ai_off_s: 2.5,
        };
        write_stats(&path, &stats).unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            keys(&v),
            [
                "ai_off_s",
                "display_fps",
                "frames",
                "inferred_fps",
                "latency_ms",
                "model_ms",
                "reconnects",
                "source_fps"
            ]
        );
        assert_eq!(
            keys(&v["frames"]),
            ["captured", "displayed", "inferred", "skipped"]
        );
        assert_eq!(keys(&v["latency_ms"]), ["max", "p50", "p95", "p99"]);
        assert_eq!(keys(&v["model_ms"]), ["p50", "p99"]);
        assert_eq!(v["frames"]["skipped"], 293);
        assert_eq!(v["latency_ms"]["max"], 55.5);
        assert_eq!(v["model_ms"]["p99"], 18.5);
        assert_eq!(v["inferred_fps"], 30.25);
        assert_eq!(v["reconnects"], 1);
        // Rewriting replaces the file and leaves no temporary file behind.
        write_stats(
            &path,
            &LiveStats {
                reconnects: 2,
                ..stats
            },
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["reconnects"], 2);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_path_is_named() {
        let path = Path::new("/nonexistent-endoscan-dir/sub/stats.json");
        let stats = LiveStats {
            source_fps: 0.0,
            display_fps: 0.0,
            inferred_fps: 0.0,
            frames: FrameCounts::default(),
            latency_ms: Percentiles::default(),
            model_ms: ModelMs::default(),
            reconnects: 0,
            ai_off_s: 0.0,
        };
        let err = format!("{:#}", write_stats(path, &stats).unwrap_err());
        assert!(
            err.contains("/nonexistent-endoscan-dir/sub/stats.json"),
            "{err}"
        );
    }
}
