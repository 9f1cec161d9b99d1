//! The `endoscan` element's guts: an in-place video filter that never holds a buffer back.
//!
//! Each buffer: every `interval`-th one is copied into the inference worker's latest-only slot
//! (the worker converts, locates, scores; a busy worker skips stale frames); then, on the
//! streaming thread and without waiting, the newest result is drawn on the buffer (mask
//! outside the image area, alert border, gauge, AI status, result age) and the buffer goes on.
//! GAP buffers (a live source's "NO SIGNAL" filler) pass untouched and restart the history.

use std::sync::Mutex;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::subclass::prelude::*;
use gstreamer_base as gst_base;
use gstreamer_base::subclass::prelude::*;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use gstreamer_video::subclass::prelude::*;

use super::frame::{ai_status, copy_frame, draw_on, layout_of, FORMATS};
use super::messages;
use super::settings::{self, Settings};
use crate::live::worker::{Model, Worker, WorkerState};
use crate::overlay::live::AiStatus;

static CAT: std::sync::LazyLock<gst::DebugCategory> = std::sync::LazyLock::new(|| {
    gst::DebugCategory::new(
        "endoscan",
        gst::DebugColorFlags::empty(),
        Some("endoscan EGC detection"),
    )
});

/// How old a result may get, in seconds of video, before the AI counts as degraded.
const DEGRADED_AFTER_S: f64 = 0.5;

/// What the element holds between `start` and `stop`.
struct State {
    worker: Worker,
    layout: Option<crate::overlay::canvas::RawLayout>,
    /// Results older than this many frames make the status DEGRADED.
    degraded_after: u64,
    /// Frames seen since start.
    seq: u64,
    /// A GAP buffer came: the next offered frame restarts the worker's history.
    restart: bool,
    /// First frame of the current stretch of picture: results of frames before it (before a
    /// NO SIGNAL gap) are not shown.
    valid_from: u64,
    /// The status shown last, and why (posted on the bus when either changes).
    status: Option<(AiStatus, String)>,
}

#[derive(Default)]
pub struct Endoscan {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for Endoscan {
    const NAME: &'static str = "GstEndoscan";
    type Type = super::Endoscan;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for Endoscan {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: std::sync::LazyLock<Vec<glib::ParamSpec>> =
            std::sync::LazyLock::new(settings::properties);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().expect("settings lock");
        settings.set(pspec.name(), value);
        gst::info!(
            CAT,
            imp = self,
            "{} set to {:?}",
            pspec.name(),
            settings.get(pspec.name())
        );
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        self.settings
            .lock()
            .expect("settings lock")
            .get(pspec.name())
    }
}

impl GstObjectImpl for Endoscan {}

impl ElementImpl for Endoscan {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: std::sync::LazyLock<gst::subclass::ElementMetadata> =
            std::sync::LazyLock::new(|| {
                gst::subclass::ElementMetadata::new(
                    "endoscan early gastric cancer detection",
                    "Filter/Analyzer/Video",
                    "Scores endoscopy video for early gastric cancer with a BiT model and draws \
                     the alert on each frame without ever holding a frame back: frames go to \
                     an inference thread through a latest-only slot; each frame leaves with \
                     the newest result. Posts 'endoscan-score' and 'endoscan-alert' element \
                     messages.",
                    "endoscan developers",
                )
            });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: std::sync::LazyLock<Vec<gst::PadTemplate>> =
            std::sync::LazyLock::new(|| {
                let caps = gst_video::VideoCapsBuilder::new()
                    .format_list(FORMATS.iter().copied())
                    .build();
                [gst::PadDirection::Src, gst::PadDirection::Sink]
                    .into_iter()
                    .map(|dir| {
                        let name = if dir == gst::PadDirection::Src {
                            "src"
                        } else {
                            "sink"
                        };
                        gst::PadTemplate::new(name, dir, gst::PadPresence::Always, &caps)
                            .expect("static pad template")
                    })
                    .collect()
            });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for Endoscan {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().expect("settings lock").clone();
        let worker_settings = settings
            .worker()
            .map_err(|e| gst::error_msg!(gst::ResourceError::NotFound, ["{e:#}"]))?;
        let load_settings = worker_settings.clone();
        let weak = self.obj().downgrade();
        let worker = Worker::start(
            move || Model::load(&load_settings),
            &worker_settings,
            Box::new(move |result| {
                if let Some(element) = weak.upgrade() {
                    messages::post_result(&element, result);
                }
            }),
        )
        .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ["{e:#}"]))?;
        gst::info!(
            CAT,
            imp = self,
            "started with {}",
            worker_settings.model.display()
        );
        *self.state.lock().expect("state lock") = Some(State {
            worker,
            layout: None,
            degraded_after: 15,
            seq: 0,
            restart: false,
            valid_from: 0,
            status: None,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(mut state) = self.state.lock().expect("state lock").take() {
            state.worker.stop();
        }
        Ok(())
    }
}

impl VideoFilterImpl for Endoscan {
    fn set_info(
        &self,
        _incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        _outcaps: &gst::Caps,
        _out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        let layout = layout_of(in_info.format()).ok_or_else(|| {
            gst::loggable_error!(CAT, "unsupported format {:?}", in_info.format())
        })?;
        let fps = crate::gst::fps_of(in_info).unwrap_or(crate::live::source::DEFAULT_FPS);
        let mut guard = self.state.lock().expect("state lock");
        let state = guard
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "caps set before start"))?;
        state.layout = Some(layout);
        state.degraded_after = (fps * DEGRADED_AFTER_S).ceil().max(2.0) as u64;
        Ok(())
    }

    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().expect("settings lock").frame();
        let mut guard = self.state.lock().expect("state lock");
        let state = guard.as_mut().ok_or(gst::FlowError::NotNegotiated)?;
        let layout = state.layout.ok_or(gst::FlowError::NotNegotiated)?;
        let seq = state.seq;
        state.seq += 1;
        if frame.buffer().flags().contains(gst::BufferFlags::GAP) {
            state.restart = true;
            state.valid_from = seq + 1;
            return Ok(gst::FlowSuccess::Ok);
        }
        if seq % u64::from(settings.interval.max(1)) == 0 {
            let raw = copy_frame(frame, layout, seq, std::mem::take(&mut state.restart));
            state.worker.offer(raw);
        }
        let latest = state.worker.latest().filter(|r| r.seq >= state.valid_from);
        let worker_state = state.worker.state();
        let status = ai_status(
            &worker_state,
            latest.as_ref(),
            seq,
            seq - state.valid_from,
            state.degraded_after,
        );
        let reason = match &worker_state {
            WorkerState::Failed(why) => why.as_str(),
            _ => "",
        };
        // Compared in place: nothing is allocated per buffer unless the status changed.
        if state.status.as_ref().map(|(s, r)| (*s, r.as_str())) != Some((status, reason)) {
            messages::post_status(&*self.obj(), status, reason);
            state.status = Some((status, reason.to_string()));
        }
        drop(guard);
        draw_on(frame, layout, &settings, latest.as_ref(), status, seq).map_err(|e| {
            gst::element_imp_error!(self, gst::StreamError::Format, ["{e}"]);
            gst::FlowError::Error
        })?;
        Ok(gst::FlowSuccess::Ok)
    }
}
