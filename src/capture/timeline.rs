//! Where a stream's time starts: the decoded PTS of some files is not near zero.
//!
//! Matroska files written by GStreamer's libav encoders, for one, decode with PTS close to
//! 2⁶³ ns (the encoders' 1000-hour DTS offset wrapped into the stream time). Frame times like
//! that break everything downstream: `frames.csv`, segment times, the truncation check and
//! the annotated video's timestamps. [`PtsOrigin`] moves such a stream back to start at its
//! first frame and leaves ordinary streams (starting at or near zero, or at an offset within
//! the container's duration, as a cut recording does) untouched.

use std::time::Duration;

/// Without a known duration, first timestamps beyond this are taken as an offset, not time.
const IMPLAUSIBLE_START: Duration = Duration::from_secs(7 * 24 * 3600);
/// Slack over the container's duration before a first timestamp counts as an offset.
const START_SLACK: Duration = Duration::from_secs(1);

/// Maps stream times to the times endoscan reports, fixed at the first timestamped frame.
#[derive(Debug, Default, Clone, Copy)]
pub struct PtsOrigin {
    origin: Option<Duration>,
}

impl PtsOrigin {
    /// The reported time of a frame with stream time `t`, given the container's `duration`.
    pub fn place(&mut self, t: Duration, duration: Option<Duration>) -> Duration {
        let origin = *self.origin.get_or_insert_with(|| {
            let limit = plausible(duration).map_or(IMPLAUSIBLE_START, |d| d + START_SLACK);
            if t > limit {
                tracing::debug!(
                    "stream starts at {:.3} s, beyond any plausible start: timing from its first frame",
                    t.as_secs_f64()
                );
                t
            } else {
                Duration::ZERO
            }
        });
        t.saturating_sub(origin)
    }
}

/// A container duration, unless it is one of those wrapped times (then it says nothing).
pub fn plausible(duration: Option<Duration>) -> Option<Duration> {
    duration.filter(|d| *d <= IMPLAUSIBLE_START)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn ordinary_and_offset_streams_keep_their_times() {
        let mut zero = PtsOrigin::default();
        assert_eq!(zero.place(MS(0), Some(MS(5880))), MS(0));
        assert_eq!(zero.place(MS(40), Some(MS(5880))), MS(40));
        let mut cut = PtsOrigin::default();
        assert_eq!(cut.place(MS(2000), Some(MS(5880))), MS(2000));
        assert_eq!(cut.place(MS(2040), None), MS(2040));
    }

    #[test]
    fn a_wrapped_start_is_moved_to_zero() {
        let wrapped = Duration::from_nanos((1u64 << 63) - 3_600_000_000_000_000);
        let mut origin = PtsOrigin::default();
        assert_eq!(origin.place(wrapped, Some(MS(5880))), MS(0));
        assert_eq!(origin.place(wrapped + MS(40), Some(MS(5880))), MS(40));
        // The same files report a wrapped duration too: it carries no information.
        let mut lying = PtsOrigin::default();
        assert_eq!(lying.place(wrapped, Some(wrapped + MS(5880))), MS(0));
        assert_eq!(plausible(Some(wrapped)), None);
        assert_eq!(plausible(Some(MS(5880))), Some(MS(5880)));
        let mut unknown = PtsOrigin::default();
        assert_eq!(unknown.place(wrapped, None), MS(0));
        // A frame before the origin (reordered timestamps) clamps to zero.
        assert_eq!(unknown.place(wrapped - MS(40), None), MS(0));
    }
}
