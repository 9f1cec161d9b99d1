//! `test://`: a synthetic live endoscope. A clip of the synthetic tower video (`endoscan synth`'s
//! renderer: octagonal image area, patient panel, lesions on a schedule) is rendered once at
//! start and played in a loop at its frame rate, paced by the wall clock like a camera.
//!
//! Options (`test://?fps=30&size=640x360&seconds=8&seed=7&lose=5+3`): frame rate, frame size,
//! loop length, seed, and a scheduled signal loss (`lose=AT+FOR`: from AT s after the start,
//! for FOR s, the source is gone, as if the cable were pulled) to exercise NO SIGNAL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gstreamer as gst;

use super::{LiveSource, Pull, SourceFormat};
use crate::synth::config::{parse_size, VideoConfig};
use crate::synth::layout::Layout;
use crate::synth::track::Track;

/// Share of the clip's frames that show a lesion.
const LESION_FRACTION: f64 = 0.35;

/// The options of a `test://` source.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSpec {
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    /// Length of the rendered loop.
    pub seconds: f64,
    pub seed: u64,
    /// Scheduled loss: (start, length) in seconds after the start.
    pub lose: Option<(f64, f64)>,
}

impl Default for TestSpec {
    fn default() -> Self {
        Self {
            fps: 30,
            width: 640,
            height: 360,
            seconds: 8.0,
            seed: 7,
            lose: None,
        }
    }
}

impl TestSpec {
    /// Parses `key=value&…` (see the module docs).
    pub fn parse(query: &str) -> anyhow::Result<Self> {
        let mut spec = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("test://: '{pair}' is not key=value"))?;
            let bad = || format!("test://: {key}={value} is not valid");
            match key {
                "fps" => {
                    spec.fps = value
                        .parse()
                        .ok()
                        .filter(|f| (1..=240).contains(f))
                        .with_context(bad)?
                }
                "size" => (spec.width, spec.height) = parse_size(value).with_context(bad)?,
                "seconds" => {
                    spec.seconds = value
                        .parse()
                        .ok()
                        .filter(|s: &f64| *s >= 1.0 && *s <= 60.0)
                        .with_context(bad)?
                }
                "seed" => spec.seed = value.parse().with_context(bad)?,
                "lose" => {
                    let (at, len) = value.split_once('+').with_context(bad)?;
                    let at: f64 = at.parse().with_context(bad)?;
                    let len: f64 = len.parse().with_context(bad)?;
                    if !(at >= 0.0 && len > 0.0) {
                        bail!(bad());
                    }
                    spec.lose = Some((at, len));
                }
                _ => bail!("test://: unknown option '{key}' (fps, size, seconds, seed, lose)"),
            }
        }
        Layout::Tower
            .check_size(spec.width, spec.height)
            .map_err(|e| anyhow::anyhow!("test://: {e}"))?;
        Ok(spec)
    }
}

/// The rendered loop, shared by every connection of a run.
pub struct TestClip {
    spec: TestSpec,
    /// Packed RGB frames, rows padded to 4 bytes as GStreamer lays out RGB.
    frames: Vec<Vec<u8>>,
    /// Whether each frame shows a lesion.
    lesion: Vec<bool>,
    /// When the run's source first connected: the loss schedule counts from here.
    started: Instant,
}

impl TestClip {
    /// Renders the clip (on every core; a few seconds).
    pub fn render(spec: &TestSpec) -> Self {
        let n = (spec.seconds * f64::from(spec.fps)).round().max(1.0) as u64;
        let video = VideoConfig {
            fps_num: spec.fps,
            fps_den: 1,
            frames: n,
        };
        let geometry = Layout::Tower.geometry(spec.width, spec.height);
        let track = Track::new(spec.seed, Layout::Tower, geometry, video, LESION_FRACTION);
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        let mut rendered: Vec<(u64, Vec<u8>, bool)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let track = &track;
                    scope.spawn(move || {
                        (w..n)
                            .step_by(workers as usize)
                            .map(|i| {
                                let f = track.frame(i);
                                let rows = gst_rows(&f.image);
                                (i, rows, f.lesion.is_some())
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a render thread does not panic"))
                .collect()
        });
        rendered.sort_by_key(|(i, _, _)| *i);
        Self {
            spec: spec.clone(),
            lesion: rendered.iter().map(|(_, _, l)| *l).collect(),
            frames: rendered.into_iter().map(|(_, f, _)| f).collect(),
            started: Instant::now(),
        }
    }

    /// Size and rate of the clip.
    pub fn format(&self) -> SourceFormat {
        SourceFormat {
            width: self.spec.width,
            height: self.spec.height,
            fps: f64::from(self.spec.fps),
        }
    }

    /// Frames in the loop.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the loop is empty (never: at least one frame is rendered).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Whether the scheduled loss is on now.
    fn lost_now(&self) -> bool {
        self.spec.lose.is_some_and(|(at, len)| {
            let t = self.started.elapsed().as_secs_f64();
            t >= at && t < at + len
        })
    }
}

/// One connection to the synthetic endoscope.
pub(super) struct TestSource {
    clip: Arc<TestClip>,
    start: Instant,
    /// The next frame to deliver, counted from `start`.
    next: u64,
    /// Clip frame of the connection's first frame (the loop goes on where the clock is).
    offset: u64,
}

impl TestSource {
    /// Connects; fails while the scheduled loss is on.
    pub(super) fn connect(clip: Arc<TestClip>) -> anyhow::Result<Self> {
        if clip.lost_now() {
            bail!("test://: no signal (scheduled loss)");
        }
        let offset = (clip.started.elapsed().as_secs_f64() * f64::from(clip.spec.fps)) as u64;
        Ok(Self {
            clip,
            start: Instant::now(),
            next: 0,
            offset,
        })
    }

    fn due(&self, index: u64) -> Instant {
        self.start + Duration::from_secs_f64(index as f64 / f64::from(self.clip.spec.fps))
    }
}

impl LiveSource for TestSource {
    fn pull(&mut self, timeout: Duration) -> Pull {
        if self.clip.lost_now() {
            return Pull::Lost("test://: signal lost (scheduled loss)".into());
        }
        let now = Instant::now();
        // Like a camera, frames the reader was too late for are gone, not delivered in a burst.
        let late = (now.saturating_duration_since(self.start).as_secs_f64()
            * f64::from(self.clip.spec.fps)) as u64;
        if late > self.next + 1 {
            self.next = late;
        }
        let due = self.due(self.next);
        if due > now + timeout {
            std::thread::sleep(timeout);
            return Pull::Nothing;
        }
        std::thread::sleep(due.saturating_duration_since(now));
        let index = ((self.offset + self.next) % self.clip.len() as u64) as usize;
        self.next += 1;
        Pull::Frame(
            gst::Buffer::from_slice(self.clip.frames[index].clone()),
            Some(self.clip.lesion[index]),
        )
    }
}

/// The image's rows as GStreamer lays out packed RGB: each padded to a multiple of 4 bytes.
pub fn gst_rows(image: &image::RgbImage) -> Vec<u8> {
    let row = image.width() as usize * 3;
    let stride = row.next_multiple_of(4);
    if stride == row {
        return image.as_raw().clone();
    }
    let mut out = vec![0u8; stride * image.height() as usize];
    for (dst, src) in out
        .chunks_exact_mut(stride)
        .zip(image.as_raw().chunks_exact(row))
    {
        dst[..row].copy_from_slice(src);
    }
    out
}
