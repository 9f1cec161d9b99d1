//! The locate and prepare stages of every composition: frames → their trusted image area
//! ([`AreaTracker`], fail closed) → the model-sized image ([`Prepare`]).

use crossbeam_channel::{Receiver, Sender};
use image::RgbImage;

use super::tracker::{AreaTracker, FrameStatus, Located};
use super::{Crop, PreprocessError, Preprocessor, RgbView};
use crate::capture::Frame;
use crate::pipeline::StageHandle;

/// A frame on its way to the model: its model-sized image, or its status saying why not.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInput {
    pub index: u64,
    pub pts_ms: f64,
    /// The `S × S` RGB image before normalization; `None` unless the status is `Ok`.
    pub image: Option<RgbImage>,
    /// The frame square the image shows (to map findings back into the frame).
    pub crop: Option<Crop>,
    pub status: FrameStatus,
}

/// The prepare stage's job: a located frame → the model's square u8 input (crop, mask,
/// resize). [`Preprocessor`] is the CPU reference that GPU implementations must match.
pub trait Prepare: Sync {
    /// Side `S` of the square model input.
    fn input_size(&self) -> usize;
    /// The model input of `frame` in `area`.
    fn prepare(
        &self,
        frame: &Frame,
        area: &super::ContentArea,
    ) -> Result<RgbImage, PreprocessError>;
}

impl Prepare for Preprocessor {
    fn input_size(&self) -> usize {
        Preprocessor::input_size(self)
    }

    fn prepare(
        &self,
        frame: &Frame,
        area: &super::ContentArea,
    ) -> Result<RgbImage, PreprocessError> {
        let view = RgbView::new(
            &frame.data,
            frame.width as usize,
            frame.height as usize,
            frame.stride,
        )?;
        Ok(self.prepare_in_area(view, area.clone())?.image)
    }
}

/// Prepares a located frame; only frames with status `Ok` get an image.
pub fn model_input(prepare: &dyn Prepare, located: &Located) -> anyhow::Result<ModelInput> {
    let frame = &located.frame;
    let (image, crop) = match (&located.area, located.status) {
        (Some(area), FrameStatus::Ok) => (
            Some(
                prepare
                    .prepare(frame, area)
                    .map_err(|e| anyhow::anyhow!(e).context(format!("frame {}", frame.index)))?,
            ),
            Some(Crop::centred_square(area.bounds())),
        ),
        _ => (None, None),
    };
    Ok(ModelInput {
        index: frame.index,
        pts_ms: frame.pts_ms(),
        image,
        crop,
        status: located.status,
    })
}

/// The locate + prepare stage: frames from `rx` through `tracker`, each located frame shown
/// to `seen` (in order, from the first), and those from `first_scored` on prepared into `tx`.
pub fn locate_and_prepare(
    stage: &StageHandle<'_>,
    tracker: &mut AreaTracker,
    prepare: &dyn Prepare,
    first_scored: u64,
    rx: &Receiver<Frame>,
    tx: &Sender<ModelInput>,
    mut seen: impl FnMut(&Located),
) -> anyhow::Result<()> {
    let mut forward = |located: Vec<Located>| -> anyhow::Result<bool> {
        for l in located {
            seen(&l);
            if l.frame.index < first_scored {
                continue;
            }
            let item = stage.work(|| model_input(prepare, &l))?;
            stage.count(1);
            if !stage.send(tx, item) {
                return Ok(false);
            }
        }
        Ok(true)
    };
    while let Some(frame) = stage.recv(rx) {
        let located = stage.work(|| tracker.push(frame));
        if !forward(located)? {
            return Ok(());
        }
    }
    if !stage.stopped() {
        let located = stage.work(|| tracker.finish());
        forward(located)?;
    }
    Ok(())
}
