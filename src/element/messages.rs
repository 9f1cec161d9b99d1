//! The element messages the `endoscan` element posts on the bus:
//!
//! * `endoscan-score` per scored frame: `pts` (u64 ns), `seq` (u64, frames since start),
//!   `p`, `smoothed` (f64), `alert` (bool), `model-ms` (f64), `status` (str: ok, no-area, …);
//! * `endoscan-alert` at an alert's start and end: `pts`, `seq`, `state` ("start" / "end");
//! * `endoscan-status` when the AI status changes: `status` ("AI ON" / "AI OFF" /
//!   "AI DEGRADED"), `reason` (why the AI is off, or empty).

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::live::worker::LiveResult;
use crate::overlay::live::AiStatus;
use crate::smooth::causal::AlertChange;

/// Posts the score message of `result`, and the alert message if the alert changed.
pub fn post_result(element: &impl IsA<gst::Element>, result: &LiveResult) {
    let pts = result.pts.as_nanos() as u64;
    post(
        element,
        gst::Structure::builder("endoscan-score")
            .field("pts", pts)
            .field("seq", result.seq)
            .field("p", f64::from(result.p))
            .field("smoothed", f64::from(result.step.smoothed))
            .field("alert", result.step.alert)
            .field("model-ms", result.model_ms)
            .field("status", result.status.name())
            .build(),
    );
    if let Some(change) = result.step.change {
        let state = match change {
            AlertChange::Started => "start",
            AlertChange::Ended => "end",
        };
        post(
            element,
            gst::Structure::builder("endoscan-alert")
                .field("pts", pts)
                .field("seq", result.seq)
                .field("state", state)
                .build(),
        );
    }
}

/// Posts a change of the AI status.
pub fn post_status(element: &impl IsA<gst::Element>, status: AiStatus, reason: &str) {
    post(
        element,
        gst::Structure::builder("endoscan-status")
            .field("status", status.label())
            .field("reason", reason)
            .build(),
    );
}

fn post(element: &impl IsA<gst::Element>, structure: gst::Structure) {
    let msg = gst::message::Element::builder(structure)
        .src(element.as_ref())
        .build();
    // Not in a pipeline (no bus): nobody listens, nothing to do.
    let _ = element.post_message(msg);
}
