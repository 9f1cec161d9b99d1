//! No stage waits forever: a model that stops answering ends the study with an error naming
//! the stage and the input, the frames scored until then written and marked incomplete.

use std::path::Path;
use std::time::{Duration, Instant};

use endoscan::infer::{Classifier, ClassifierOptions, Scorer};
use endoscan::reprocess::{ModelInfo, Reprocess, Settings};
use ndarray::ArrayView4;

const SAMPLE: &str = "samples/sample.mp4";
const MODEL: &str = "models/demo.onnx";

/// Answers its first `answers` batches with 0.1, then hangs for `hang` on every call.
struct Hanging {
    answers: usize,
    hang: Duration,
}

impl Scorer for Hanging {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        if self.answers == 0 {
            std::thread::sleep(self.hang);
        } else {
            self.answers -= 1;
        }
        Ok(vec![0.1; batch.dim().0])
    }
}

#[test]
fn a_hung_model_stops_the_study_with_partial_results() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("stall-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let classifier = Classifier::load(Path::new(MODEL), &ClassifierOptions::default()).unwrap();
    let info = ModelInfo::new(Path::new(MODEL), classifier.metadata()).unwrap();
    let pre = classifier.preprocessor().clone();
    let settings = Settings {
        stall_after: Duration::from_secs(1),
        ..Settings::default()
    };
    let mut scorer = Hanging {
        answers: 2,
        hang: Duration::from_secs(4),
    };
    let start = Instant::now();
    let study = Reprocess::new(settings)
        .unwrap()
        .run(Path::new(SAMPLE), &info, &pre, &mut scorer, &out)
        .unwrap();
    // It stops once the stall is seen and the hung call returns, not at the end of the video.
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    let err = format!("{:#}", study.error.expect("the study stops with an error"));
    assert!(
        err.contains("infer stage") && err.contains("sample.mp4"),
        "{err}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["complete"], false);
    assert!(summary["error"].as_str().unwrap().contains("infer stage"));
    let rows = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    let written = rows.lines().count() - 1;
    assert!((32..750).contains(&written), "{written} frames written");
    assert_eq!(summary["frames"]["written"], written);
    assert!(
        !out.join("annotated.mp4").exists(),
        "no video for an incomplete study"
    );
    let _ = std::fs::remove_dir_all(&out);
}
