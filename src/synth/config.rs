//! Validates raw `endoscan synth` arguments into a typed [`Config`] before any work.

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::layout::Layout;
use super::SynthArgs;

/// Most still images one run may write.
pub const MAX_IMAGES: i64 = 1_000_000;
/// Longest video in seconds.
pub const MAX_VIDEO_SECONDS: f64 = 3600.0;
/// Highest video frame rate.
pub const MAX_FPS: f64 = 240.0;

/// A validated video request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoConfig {
    /// Frame-rate numerator.
    pub fps_num: u32,
    /// Frame-rate denominator.
    pub fps_den: u32,
    /// Number of frames to encode.
    pub frames: u64,
}

impl VideoConfig {
    /// Presentation time of frame `index` in nanoseconds.
    pub fn pts_ns(&self, index: u64) -> u64 {
        (u128::from(index) * 1_000_000_000 * u128::from(self.fps_den) / u128::from(self.fps_num))
            as u64
    }

    /// Seconds from the first frame to frame `index`.
    pub fn seconds(&self, index: u64) -> f64 {
        index as f64 * f64::from(self.fps_den) / f64::from(self.fps_num)
    }
}

/// A validated `endoscan synth` run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Output directory.
    pub out: PathBuf,
    /// Seed of everything.
    pub seed: u64,
    /// Number of still images.
    pub images: u32,
    /// Frame layout.
    pub layout: Layout,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Share of images (and, roughly, video frames) showing a lesion.
    pub positive_fraction: f64,
    /// The video, if requested.
    pub video: Option<VideoConfig>,
}

impl Config {
    /// Checks every argument; errors name the offending one.
    pub fn from_args(args: &SynthArgs) -> anyhow::Result<Self> {
        let (width, height) = match &args.size {
            Some(text) => parse_size(text).context("--size")?,
            None => args.layout.default_size(),
        };
        args.layout
            .check_size(width, height)
            .map_err(anyhow::Error::msg)
            .context("--size")?;
        if !(0..=MAX_IMAGES).contains(&args.images) {
            bail!(
                "--images: must be between 0 and {MAX_IMAGES}, got {}",
                args.images
            );
        }
        let pf = args.positive_fraction;
        if !(0.0..=1.0).contains(&pf) {
            bail!("--positive-fraction: must be between 0 and 1, got {pf}");
        }
        if !(args.fps.is_finite() && args.fps > 0.0 && args.fps <= MAX_FPS) {
            bail!(
                "--fps: must be a positive frame rate up to {MAX_FPS}, got {}",
                args.fps
            );
        }
        let video = match args.video {
            None => None,
            Some(seconds) => {
                if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_VIDEO_SECONDS) {
                    bail!("--video: must be a positive number of seconds up to {MAX_VIDEO_SECONDS}, got {seconds}");
                }
                if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
                    bail!(
                        "--size: H.264 video needs an even width and height, got {width}x{height}"
                    );
                }
                let (fps_num, fps_den) = fps_fraction(args.fps);
                let frames = ((seconds * args.fps).round() as u64).max(1);
                Some(VideoConfig {
                    fps_num,
                    fps_den,
                    frames,
                })
            }
        };
        Ok(Self {
            out: args.out.clone(),
            seed: args.seed,
            images: args.images as u32,
            layout: args.layout,
            width,
            height,
            positive_fraction: pf,
            video,
        })
    }
}

/// Parses `WxH` (also `W×H` or `W,H`) into positive pixel counts.
pub fn parse_size(text: &str) -> anyhow::Result<(u32, u32)> {
    let parts: Vec<&str> = text.trim().split(['x', 'X', '×', ',']).collect();
    let [w, h] = parts[..] else {
        bail!("expected WxH such as 384x384, got '{text}'");
    };
    let parse = |s: &str| s.trim().parse::<u32>().ok();
    let (Some(w), Some(h)) = (parse(w), parse(h)) else {
        bail!("expected WxH such as 384x384, got '{text}'");
    };
    if w == 0 || h == 0 {
        bail!("width and height must be positive, got {w}x{h}");
    }
    Ok((w, h))
}

/// The frame rate as a reduced fraction with millihertz precision.
fn fps_fraction(fps: f64) -> (u32, u32) {
    let (num, den) = ((fps * 1000.0).round() as u64, 1000u64);
    let g = gcd(num, den);
    ((num / g) as u32, (den / g) as u32)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_or_say_why_not() {
        assert_eq!(parse_size("384x384").unwrap(), (384, 384));
        assert_eq!(parse_size(" 960X540 ").unwrap(), (960, 540));
        assert!(parse_size("0x0")
            .unwrap_err()
            .to_string()
            .contains("positive"));
        assert!(parse_size("abc").is_err());
        assert!(parse_size("1x2x3").is_err());
        assert!(parse_size("-1x5").is_err());
    }

    #[test]
    fn frame_rates_become_exact_fractions() {
        assert_eq!(fps_fraction(25.0), (25, 1));
        assert_eq!(fps_fraction(29.97), (2997, 100));
        let v = VideoConfig {
            fps_num: 30000,
            fps_den: 1001,
            frames: 3,
        };
        assert_eq!(v.pts_ns(0), 0);
        assert_eq!(v.pts_ns(30000), 1001 * 1_000_000_000);
    }
}
