//! The capture stage of every composition: frames out of a [`Capture`] into a channel.

use crossbeam_channel::Sender;

use super::{Capture, CaptureError, Frame};
use crate::pipeline::StageHandle;

/// Decodes `capture` into `tx` until the end of the input, an error, or a stop; returns the
/// frames decoded. Frames decoded before an error are sent first.
pub fn decode(
    stage: &StageHandle<'_>,
    capture: &mut Capture,
    tx: &Sender<Frame>,
) -> Result<u64, CaptureError> {
    let mut decoded = 0;
    while let Some(frame) = stage.work(|| capture.next_frame())? {
        decoded += 1;
        stage.count(1);
        if !stage.send(tx, frame) {
            break;
        }
    }
    Ok(decoded)
}
