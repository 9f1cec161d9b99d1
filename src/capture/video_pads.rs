//! Helpers of the decode pipeline: linking decodebin's video pad, telling a stalled pipeline,
//! and checking the input file before GStreamer sees it.

use super::CaptureError;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the pipeline has streaming tasks and all of them are paused or stopped.
pub(super) fn tasks_all_paused(pipeline: &gst::Pipeline) -> bool {
    let mut tasks = 0;
    let mut running = 0;
    for element in pipeline.iterate_recurse().into_iter().flatten() {
        for pad in element.iterate_pads().into_iter().flatten() {
            match pad.task_state() {
                gst::TaskState::Started => running += 1,
                gst::TaskState::Paused => tasks += 1,
                _ => {}
            }
        }
    }
    tasks > 0 && running == 0
}

/// Links decodebin's first video pad to the converter; other streams (audio, subtitles) go to
/// a fakesink so they cannot stall the demuxer.
pub(super) fn link_decoded_pad(
    pipeline: &gst::Pipeline,
    convert: &gst::Element,
    pad: &gst::Pad,
    video_linked: &AtomicBool,
) {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let is_video = caps
        .structure(0)
        .is_some_and(|s| s.name().starts_with("video/"));
    if is_video && !video_linked.swap(true, Ordering::SeqCst) {
        let Some(sinkpad) = convert.static_pad("sink") else {
            return;
        };
        if let Err(e) = pad.link(&sinkpad) {
            gst::element_error!(
                convert,
                gst::CoreError::Negotiation,
                ("cannot link the decoded video: {e:?}")
            );
        }
        return;
    }
    tracing::debug!("ignoring decoded stream {caps}");
    let Ok(fakesink) = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .property("async", false)
        .build()
    else {
        return;
    };
    if pipeline.add(&fakesink).is_ok() {
        let _ = fakesink.sync_state_with_parent();
        if let Some(sinkpad) = fakesink.static_pad("sink") {
            let _ = pad.link(&sinkpad);
        }
    }
}

/// Missing, unreadable or empty files fail before GStreamer sees them, with plain words.
pub(super) fn check_file(path: &Path) -> Result<(), CaptureError> {
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => CaptureError::NotFound {
            path: path.to_path_buf(),
        },
        _ => CaptureError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    std::fs::File::open(path).map_err(|source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.len() == 0 {
        return Err(CaptureError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}
