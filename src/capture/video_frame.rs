//! Turning a decoded sample into a [`Frame`]: caps, timing (PTS, duration, index) and pixels
//! (copied, or the mapped buffer with `zero_copy`).

use super::VideoSource;
use super::{CaptureError, Frame, PixelFormat, Pixels};
use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use std::time::Duration;

impl VideoSource {
    /// Reads the sample's caps and timing, advancing the frame index; returns the frame's
    /// index, PTS and duration.
    pub(super) fn timing(
        &mut self,
        sample: &gst::Sample,
    ) -> Result<(u64, Duration, Option<Duration>), CaptureError> {
        let caps = sample
            .caps()
            .ok_or_else(|| self.decode_error("decoded sample without caps"))?;
        if self.caps.as_ref().is_none_or(|(c, _)| c.as_ref() != caps) {
            let info = gst_video::VideoInfo::from_caps(caps)
                .map_err(|e| self.decode_error(&format!("unusable caps {caps}: {e}")))?;
            self.fps = crate::gst::fps_of(&info);
            if self.caps.is_none() {
                tracing::debug!(
                    "{}: {}x{} RGB, {} fps",
                    self.path.display(),
                    info.width(),
                    info.height(),
                    self.fps
                        .map(|f| format!("{f:.3}"))
                        .unwrap_or_else(|| "variable".into())
                );
            }
            self.caps = Some((caps.to_owned(), info));
        }
        self.learn_duration();
        let buffer = sample
            .buffer()
            .ok_or_else(|| self.decode_error("decoded sample without a buffer"))?;
        let stream_time = buffer.pts().and_then(|pts| {
            sample
                .segment()
                .and_then(|s| s.downcast_ref::<gst::ClockTime>())
                .and_then(|s| s.to_stream_time(pts))
                .or(Some(pts))
        });
        let frame_duration = buffer
            .duration()
            .map(|d| Duration::from_nanos(d.nseconds()))
            .or_else(|| self.fps.map(|f| Duration::from_secs_f64(1.0 / f)));
        let pts = match stream_time {
            Some(t) => self
                .origin
                .place(Duration::from_nanos(t.nseconds()), self.duration),
            // No timestamp: continue from the previous frame.
            None => match self.last_pts {
                Some(prev) => prev + self.last_duration.unwrap_or_default(),
                None => Duration::ZERO,
            },
        };
        let index = self.index;
        self.index += 1;
        self.last_pts = Some(pts);
        self.last_duration = frame_duration;
        Ok((index, pts, frame_duration))
    }

    pub(super) fn frame_of(&mut self, sample: &gst::Sample) -> Result<Frame, CaptureError> {
        let (index, pts, duration) = self.timing(sample)?;
        let (_, info) = self.caps.as_ref().expect("timing() stored the caps");
        let buffer = sample.buffer().expect("timing() checked the buffer");
        let vframe = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info)
            .map_err(|e| self.decode_error(&format!("cannot map frame {index}: {e}")))?;
        let stride = vframe.plane_stride()[0] as usize;
        let (width, height) = (vframe.width(), vframe.height());
        let plane = vframe
            .plane_data(0)
            .map_err(|e| self.decode_error(&format!("cannot read frame {index}: {e}")))?;
        let size = stride * height as usize;
        if stride < width as usize * 3 || plane.len() < size {
            return Err(self.decode_error(&format!(
                "frame {index}: plane of {} bytes is too small for {width}x{height} RGB with stride {stride}",
                plane.len()
            )));
        }
        tracing::trace!(index, pts_ms = pts.as_secs_f64() * 1e3, "decoded frame");
        // Decoders mark a frame they could only partly reconstruct (a damaged slice, a missing
        // reference) instead of dropping it: such pixels are concealment, not a picture.
        let corrupt = buffer
            .flags()
            .contains(gst::BufferFlags::CORRUPTED)
            .then(|| "the decoder marked the frame corrupted".to_string());
        let offset = info.offset()[0];
        let data = if self.zero_copy && offset == 0 {
            drop(vframe);
            let owned = sample.buffer_owned().expect("timing() checked the buffer");
            let mapped = owned
                .into_mapped_buffer_readable()
                .map_err(|_| self.decode_error(&format!("cannot map frame {index}")))?;
            Pixels::Mapped(mapped)
        } else {
            Pixels::Host(plane[..size].to_vec())
        };
        Ok(Frame {
            index,
            pts,
            duration,
            width,
            height,
            stride,
            format: PixelFormat::Rgb,
            data,
            captured: std::time::Instant::now(),
            corrupt,
        })
    }
}
