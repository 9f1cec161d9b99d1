//! The worker on real synthetic tower frames with scripted scorers: what it scores, what a
//! slow model costs (stale frames, never the newest), and what a failing model does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ndarray::ArrayView4;

use super::*;
use crate::infer::Scorer;
use crate::live::alert::Persistence;
use crate::model::Normalization;
use crate::preprocess::Preprocessor;
use crate::smooth::causal::AlertChange;
use crate::synth::{generate_frame, FrameSpec, Layout};

const SIZE: usize = 32;

/// Scores every image `p`, after `delay`; fails from call `fail_at` on.
struct Scripted {
    p: f32,
    delay: Duration,
    calls: Arc<AtomicUsize>,
    fail_at: usize,
}

impl Scorer for Scripted {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        std::thread::sleep(self.delay);
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.fail_at {
            anyhow::bail!("scripted failure");
        }
        Ok(vec![self.p; batch.shape()[0]])
    }
}

fn model(p: f32, delay: Duration, fail_at: usize) -> (Model, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let scorer = Scripted {
        p,
        delay,
        calls: calls.clone(),
        fail_at,
    };
    let model = Model {
        scorer: Box::new(scorer),
        prepare: Box::new(Preprocessor::new(SIZE, Normalization::Bit).unwrap()),
        batch: BatchSettings {
            batch: 1,
            input_size: SIZE,
            normalization: Normalization::Bit,
        },
        area: AreaSettings::default(),
    };
    (model, calls)
}

fn settings() -> WorkerSettings {
    WorkerSettings {
        model: PathBuf::from("unused.onnx"),
        options: ClassifierOptions::default(),
        preprocess: Default::default(),
        on: 0.5,
        off: 0.4,
        tau_ms: 0.0,
        persistence: Persistence {
            on_k: 2,
            of_n: 3,
            off_m: 2,
        },
    }
}

/// A synthetic tower frame (image area on the right, patient panel on the left) at 100 ms a frame.
fn tower_frame(seq: u64) -> RawFrame {
    let image = generate_frame(&FrameSpec {
        layout: Layout::Tower,
        width: 480,
        height: 270,
        seed: 3,
        index: 0,
        lesion: false,
    })
    .unwrap()
    .image;
    RawFrame {
        seq,
        pts: Duration::from_millis(100 * seq),
        layout: RawLayout::Rgb,
        width: image.width(),
        height: image.height(),
        planes: vec![(image.into_raw(), 480 * 3)],
        restart: false,
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn scores_frames_in_their_trusted_area_and_alerts_after_persistence() {
    let (m, _) = model(0.9, Duration::ZERO, usize::MAX);
    let results = Arc::new(Mutex::new(Vec::new()));
    let seen = results.clone();
    let worker = Worker::start(
        move || Ok(m),
        &settings(),
        Box::new(move |r| seen.lock().unwrap().push(r.clone())),
    )
    .unwrap();
    for seq in 0..12 {
        worker.offer(tower_frame(seq));
        wait_for("the frame's result", || {
            worker.latest().is_some_and(|r| r.seq == seq)
        });
    }
    let results = results.lock().unwrap();
    assert_eq!(results.len(), 12);
    // Fail closed: no area (and no score) until one has stayed put for 3 frames and 500 ms.
    assert_eq!(results[0].status, FrameStatus::NoArea);
    assert_eq!(results[0].p, 0.0);
    assert!(results[0].area.is_none());
    let first_ok = results
        .iter()
        .position(|r| r.status == FrameStatus::Ok)
        .expect("an area is trusted within 12 frames");
    assert!((5..=8).contains(&first_ok), "trusted at frame {first_ok}");
    let ok = &results[first_ok];
    assert!((ok.p - 0.9).abs() < 1e-6);
    let area = ok.area.as_ref().unwrap();
    // The image area is the right part of the frame: the panel on the left stays outside.
    assert!(area.bounds().x > 100, "area {:?}", area.bounds());
    // on after 2 of the last 3 at ≥ 0.5: the second scored frame.
    assert!(!results[first_ok].step.alert);
    assert!(results[first_ok + 1].step.alert);
    assert_eq!(
        results[first_ok + 1].step.change,
        Some(AlertChange::Started)
    );
    assert_eq!(worker.state(), WorkerState::Running);
}

#[test]
fn a_slow_model_skips_stale_frames_but_always_scores_the_newest() {
    let (m, calls) = model(0.2, Duration::from_millis(150), usize::MAX);
    let worker = Worker::start(move || Ok(m), &settings(), Box::new(|_| {})).unwrap();
    let mut skipped = 0;
    for seq in 0..30 {
        skipped += usize::from(worker.offer(tower_frame(seq)));
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_for("the newest frame's result", || {
        worker.latest().is_some_and(|r| r.seq == 29)
    });
    let scored = calls.load(Ordering::SeqCst);
    assert!(skipped > 0, "nothing skipped");
    assert!(
        scored < 30,
        "{scored} frames scored of 30 at 150 ms each in 300 ms"
    );
}

#[test]
fn a_model_that_does_not_load_turns_the_ai_off() {
    let worker = Worker::start(
        || anyhow::bail!("models/missing.onnx: no such file"),
        &settings(),
        Box::new(|_| {}),
    )
    .unwrap();
    wait_for("the failed state", || {
        matches!(worker.state(), WorkerState::Failed(_))
    });
    let WorkerState::Failed(why) = worker.state() else {
        unreachable!()
    };
    assert!(why.contains("models/missing.onnx"), "{why}");
    // Offering frames to a failed worker is harmless.
    worker.offer(tower_frame(0));
    assert!(worker.latest().is_none());
}

#[test]
fn a_scoring_error_turns_the_ai_off_and_keeps_the_last_result() {
    let (m, _) = model(0.9, Duration::ZERO, 8);
    let worker = Worker::start(move || Ok(m), &settings(), Box::new(|_| {})).unwrap();
    for seq in 0..20 {
        worker.offer(tower_frame(seq));
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_for("the failed state", || {
        matches!(worker.state(), WorkerState::Failed(_))
    });
    let WorkerState::Failed(why) = worker.state() else {
        unreachable!()
    };
    assert!(why.contains("scripted failure"), "{why}");
    assert!(worker.latest().is_some());
}
