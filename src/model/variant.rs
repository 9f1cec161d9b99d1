//! BiT ResNet-v2 variants named `r{depth}x{width}` (Kolesnikov et al., "Big Transfer", 2020).
//!
//! Depth 50/101/152 are BiT's; 14 (one unit per stage) and 26 (two) are small variants for
//! tests and demos. The width factor multiplies every channel count; GroupNorm keeps 32 groups,
//! so the narrowest width is 0.5 (32 channels at the root).

use std::fmt;
use std::str::FromStr;

/// Depths that name a variant, with their units per stage.
const DEPTHS: [(u32, [usize; 4]); 5] = [
    (14, [1, 1, 1, 1]),
    (26, [2, 2, 2, 2]),
    (50, [3, 4, 6, 3]),
    (101, [3, 4, 23, 3]),
    (152, [3, 8, 36, 3]),
];

/// Width factors, in halves (0.5, 1, 2, 3, 4).
const WIDTH_HALVES: [u32; 5] = [1, 2, 4, 6, 8];

/// Root convolution channels at width 1.
const ROOT_CHANNELS: usize = 64;
/// Output channels of stage 1 at width 1; each later stage doubles it.
const STAGE1_OUT_CHANNELS: usize = 256;
/// GroupNorm groups everywhere in BiT.
pub const GROUPS: usize = 32;

/// One BiT ResNet-v2 architecture, such as `r101x3` or `r14x0.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variant {
    depth: u32,
    width_halves: u32,
}

/// A variant name that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("unknown model variant '{name}': expected r{{depth}}x{{width}} with depth 14, 26, 50, 101 or 152 and width 0.5, 1, 2, 3 or 4 (e.g. r50x1, r101x3, r14x0.5)")]
pub struct VariantError {
    name: String,
}

impl Variant {
    /// The variant of this depth and width factor, if BiT's naming has it.
    pub fn new(depth: u32, width: f32) -> Option<Self> {
        let halves = (width * 2.0).round();
        if (halves / 2.0 - width).abs() > 1e-6 {
            return None;
        }
        let width_halves = halves as u32;
        let known = DEPTHS.iter().any(|(d, _)| *d == depth) && WIDTH_HALVES.contains(&width_halves);
        known.then_some(Self {
            depth,
            width_halves,
        })
    }

    /// Network depth (14, 26, 50, 101 or 152).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Width factor (0.5 … 4).
    pub fn width(&self) -> f32 {
        self.width_halves as f32 / 2.0
    }

    /// Bottleneck units in each of the four stages.
    pub fn units(&self) -> [usize; 4] {
        DEPTHS
            .iter()
            .find(|(d, _)| *d == self.depth)
            .map(|(_, units)| *units)
            .expect("Variant is only built for known depths")
    }

    fn scaled(&self, channels: usize) -> usize {
        channels * self.width_halves as usize / 2
    }

    /// Output channels of the root convolution.
    pub fn root_channels(&self) -> usize {
        self.scaled(ROOT_CHANNELS)
    }

    /// Output channels of stage `stage` (0-based, 0..4).
    pub fn stage_out_channels(&self, stage: usize) -> usize {
        self.scaled(STAGE1_OUT_CHANNELS << stage)
    }

    /// Bottleneck (mid) channels of stage `stage`: a quarter of its output.
    pub fn stage_mid_channels(&self, stage: usize) -> usize {
        self.stage_out_channels(stage) / 4
    }

    /// Channels entering the head (the last stage's output).
    pub fn feature_channels(&self) -> usize {
        self.stage_out_channels(3)
    }

    /// Stride of conv b in the first unit of `stage`: 1 for stage 0, 2 after.
    pub fn stage_stride(stage: usize) -> usize {
        if stage == 0 {
            1
        } else {
            2
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.width_halves.is_multiple_of(2) {
            write!(f, "r{}x{}", self.depth, self.width_halves / 2)
        } else {
            write!(f, "r{}x{}", self.depth, self.width())
        }
    }
}

impl FromStr for Variant {
    type Err = VariantError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let err = || VariantError {
            name: name.to_string(),
        };
        let rest = name.trim().to_ascii_lowercase();
        let rest = rest.strip_prefix('r').ok_or_else(err)?;
        let (depth, width) = rest.split_once('x').ok_or_else(err)?;
        let depth: u32 = depth.parse().map_err(|_| err())?;
        let width: f32 = width.parse().map_err(|_| err())?;
        Variant::new(depth, width).ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_names() {
        for name in ["r50x1", "r101x3", "r152x4", "r14x0.5", "r26x2"] {
            let v: Variant = name.parse().unwrap();
            assert_eq!(v.to_string(), name);
        }
        let v: Variant = "r14x0.5".parse().unwrap();
        assert_eq!((v.depth(), v.width()), (14, 0.5));
        assert_eq!(v.root_channels(), 32);
        assert_eq!(v.feature_channels(), 1024);
    }

    #[test]
    fn rejects_unknown_names() {
        for name in [
            "", "r50", "r51x1", "r50x5", "r50x0.25", "resnet50", "r50x1.5", "x1",
        ] {
            let err = name.parse::<Variant>().unwrap_err().to_string();
            assert!(err.contains(&format!("'{name}'")), "{err}");
        }
    }
}
