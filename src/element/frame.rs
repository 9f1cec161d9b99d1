//! What the element does to one buffer, apart from GStreamer's plumbing: which raw formats it
//! takes, the copy it offers to the worker, the AI status it shows and the drawing.

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::settings::FrameSettings;
use crate::live::worker::{LiveResult, RawFrame, WorkerState};
use crate::overlay::canvas::{Canvas, CanvasError, RawLayout};
use crate::overlay::live::{draw_live, AiStatus, LiveView};

/// The raw formats the element takes (packed RGB family and the decoders' planar YUV).
pub const FORMATS: [gst_video::VideoFormat; 8] = [
    gst_video::VideoFormat::Rgb,
    gst_video::VideoFormat::Bgr,
    gst_video::VideoFormat::Rgbx,
    gst_video::VideoFormat::Bgrx,
    gst_video::VideoFormat::Rgba,
    gst_video::VideoFormat::Bgra,
    gst_video::VideoFormat::Nv12,
    gst_video::VideoFormat::I420,
];

/// The canvas layout of a GStreamer format, if the element takes it.
pub fn layout_of(format: gst_video::VideoFormat) -> Option<RawLayout> {
    use gst_video::VideoFormat as F;
    Some(match format {
        F::Rgb => RawLayout::Rgb,
        F::Bgr => RawLayout::Bgr,
        F::Rgbx => RawLayout::Rgbx,
        F::Bgrx => RawLayout::Bgrx,
        F::Rgba => RawLayout::Rgba,
        F::Bgra => RawLayout::Bgra,
        F::Nv12 => RawLayout::Nv12,
        F::I420 => RawLayout::I420,
        _ => return None,
    })
}

/// Copies the planes of `frame` for the worker (a memcpy; the conversion happens there).
pub fn copy_frame(
    frame: &gst_video::VideoFrameRef<&mut gst::BufferRef>,
    layout: RawLayout,
    seq: u64,
    restart: bool,
) -> RawFrame {
    let strides = frame.plane_stride();
    let planes = frame
        .planes_data()
        .iter()
        .take(frame.n_planes() as usize)
        .zip(strides)
        .map(|(data, &stride)| (data.to_vec(), stride.max(0) as usize))
        .collect();
    RawFrame {
        seq,
        pts: frame.buffer().pts().map_or(std::time::Duration::ZERO, |t| {
            std::time::Duration::from_nanos(t.nseconds())
        }),
        layout,
        width: frame.width(),
        height: frame.height(),
        planes,
        restart,
    }
}

/// The AI status frame `seq` shows, `shown` frames into the current stretch of picture: OFF
/// while the model loads or after it failed, DEGRADED when the newest result (or, before the
/// first one, the stretch) is more than `degraded_after` frames old, ON otherwise.
pub fn ai_status(
    worker: &WorkerState,
    latest: Option<&LiveResult>,
    seq: u64,
    shown: u64,
    degraded_after: u64,
) -> AiStatus {
    match worker {
        WorkerState::Starting | WorkerState::Failed(_) => AiStatus::Off,
        WorkerState::Running => match latest {
            Some(r) if seq.saturating_sub(r.seq) > degraded_after => AiStatus::Degraded,
            Some(_) => AiStatus::On,
            None if shown > degraded_after => AiStatus::Degraded,
            None => AiStatus::On,
        },
    }
}

/// Masks and draws the newest result on `frame` as the settings say.
pub fn draw_on(
    frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    layout: RawLayout,
    settings: &FrameSettings,
    latest: Option<&LiveResult>,
    status: AiStatus,
    seq: u64,
) -> Result<(), CanvasError> {
    if !settings.mask_outside_area && !settings.overlay {
        return Ok(());
    }
    let (width, height) = (frame.width(), frame.height());
    let strides: Vec<usize> = frame
        .plane_stride()
        .iter()
        .map(|&s| s.max(0) as usize)
        .collect();
    let n = frame.n_planes() as usize;
    let planes = frame
        .planes_data_mut()
        .into_iter()
        .take(n)
        .zip(strides)
        .collect();
    let mut canvas = Canvas::new(layout, width, height, planes)?;
    let area = latest.and_then(|r| r.area.as_deref());
    if settings.mask_outside_area {
        // Fail closed: before the first result, or without a trusted area, nothing shows.
        canvas.mask_outside(area);
    }
    if settings.overlay {
        let view = LiveView {
            area,
            smoothed: latest.map_or(0.0, |r| r.step.smoothed),
            threshold: settings.on,
            alert: status != AiStatus::Off && latest.is_some_and(|r| r.step.alert),
            status,
            age_frames: latest.map_or(0, |r| seq.saturating_sub(r.seq)),
            finding: latest.and_then(|r| r.finding),
        };
        draw_live(&mut canvas, &view);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::live::alert::LiveStep;
    use crate::preprocess::FrameStatus;

    fn result(seq: u64) -> LiveResult {
        LiveResult {
            seq,
            pts: Duration::ZERO,
            p: 0.2,
            step: LiveStep {
                smoothed: 0.2,
                alert: false,
                change: None,
            },
            status: FrameStatus::Ok,
            area: None,
            finding: None,
            model_ms: 5.0,
        }
    }

    #[test]
    fn the_status_says_off_degraded_or_on() {
        let running = WorkerState::Running;
        let r = result(100);
        assert_eq!(
            ai_status(&WorkerState::Starting, Some(&r), 101, 101, 15),
            AiStatus::Off
        );
        let failed = WorkerState::Failed("no model".into());
        assert_eq!(ai_status(&failed, Some(&r), 101, 101, 15), AiStatus::Off);
        assert_eq!(ai_status(&running, Some(&r), 115, 115, 15), AiStatus::On);
        assert_eq!(
            ai_status(&running, Some(&r), 116, 116, 15),
            AiStatus::Degraded
        );
        // Before the first result of a stretch of picture: on while it is young.
        assert_eq!(ai_status(&running, None, 300, 15, 15), AiStatus::On);
        assert_eq!(ai_status(&running, None, 300, 16, 15), AiStatus::Degraded);
    }

    #[test]
    fn every_advertised_format_has_a_layout() {
        for format in FORMATS {
            assert!(layout_of(format).is_some(), "{format:?}");
        }
        assert_eq!(
            layout_of(gst_video::VideoFormat::Nv12),
            Some(RawLayout::Nv12)
        );
        assert_eq!(layout_of(gst_video::VideoFormat::Yuy2), None);
    }
}
