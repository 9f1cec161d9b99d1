//! A frame's status: whether the model scored it, and if not, why.

use super::screen::Look;

/// What became of a frame, as `frames.csv` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameStatus {
    /// Scored in its image area.
    Ok,
    /// No trusted image area (black, text only, or before one is known): written black, p = 0.
    NoArea,
    /// A saturated white-out: written black, not scored, not smoothed.
    Saturated,
    /// A uniform fill or menu screen: written black, not scored, not smoothed.
    Uniform,
    /// The capture marked the frame corrupt: not scored, not smoothed, written black.
    Corrupt,
}

impl FrameStatus {
    /// Every status, in the order of their names.
    pub const ALL: [FrameStatus; 5] = [
        FrameStatus::Ok,
        FrameStatus::NoArea,
        FrameStatus::Saturated,
        FrameStatus::Uniform,
        FrameStatus::Corrupt,
    ];

    /// The name written in `frames.csv` and `scores.csv`.
    pub fn name(self) -> &'static str {
        match self {
            FrameStatus::Ok => "ok",
            FrameStatus::NoArea => "no_area",
            FrameStatus::Saturated => Look::Saturated.name(),
            FrameStatus::Uniform => Look::Uniform.name(),
            FrameStatus::Corrupt => "corrupt",
        }
    }

    /// The status called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the frame's score (0 without an area) takes part in smoothing.
    pub fn is_smoothed(self) -> bool {
        matches!(self, FrameStatus::Ok | FrameStatus::NoArea)
    }
}
