//! `endoscan check-masking`: a patient-data audit of a study's exports. Decodes
//! `annotated.mp4` frame by frame and every segment thumbnail, and counts the pixels inside
//! the given panel rectangles (where the tower draws name and birth date) that are brighter
//! than black. A clean study has none; any exposed pixel fails the check (exit status 1).
//!
//! Thumbnails show the image area's bounding box scaled down: `segments.json` records that
//! box (`thumbnail_source`), so a panel rectangle is mapped into each thumbnail; a thumbnail
//! without a recorded box is checked whole (fail closed).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::capture::{self, Capture, Frame};
use crate::preprocess::area::DEFAULT_BLACK_LEVEL;
use crate::preprocess::Rect;
use crate::reprocess::outputs::{SEGMENTS_FILE, VIDEO_FILE};

/// Frames with exposed pixels listed in the output; all are counted.
const MAX_LISTED: usize = 20;

/// Arguments of `endoscan check-masking`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckMaskingArgs {
    /// A study's output directory (`endoscan reprocess --out`).
    #[arg(value_name = "OUT_DIR")]
    pub out_dir: PathBuf,
    /// Rectangle `x,y,width,height` (frame pixels) of the patient-data panel; repeat for more.
    #[arg(long, value_name = "X,Y,W,H", required = true, value_parser = parse_rect)]
    pub panel: Vec<Rect>,
    /// Brightness (max of R, G, B) above which a pixel counts as exposed.
    #[arg(long, value_name = "LEVEL", default_value_t = DEFAULT_BLACK_LEVEL)]
    pub black_level: u8,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses `x,y,width,height`.
pub fn parse_rect(text: &str) -> Result<Rect, String> {
    let parts: Vec<usize> = text
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("'{text}': expected x,y,width,height in whole pixels"))?;
    match parts[..] {
        [x, y, width, height] if width > 0 && height > 0 => Ok(Rect {
            x,
            y,
            width,
            height,
        }),
        _ => Err(format!(
            "'{text}': expected x,y,width,height with width and height ≥ 1"
        )),
    }
}

/// An export with exposed pixels.
#[derive(Debug, Clone, Serialize)]
pub struct Exposure {
    /// `annotated.mp4` or the thumbnail's path.
    pub file: String,
    /// Frame index within the video (thumbnails: their representative frame).
    pub frame: Option<u64>,
    pub pixels: u64,
}

/// The audit's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MaskingReport {
    pub video_frames: u64,
    pub thumbnails: u64,
    /// Exposed pixels over every export.
    pub exposed_pixels: u64,
    /// Exports with exposed pixels (the first [`MAX_LISTED`] video frames).
    pub exposures: Vec<Exposure>,
}

/// Pixels of `rects` in the top-left `width × height` region of `frame`'s coordinates that
/// are brighter than `black_level`.
fn exposed_in(frame: &Frame, rects: &[Rect], black_level: u8) -> u64 {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut n = 0;
    for r in rects {
        for y in r.y..(r.y + r.height).min(h) {
            let row = frame.row(y as u32);
            for x in r.x..(r.x + r.width).min(w) {
                let px = &row[3 * x..3 * x + 3];
                n += u64::from(px[0].max(px[1]).max(px[2]) > black_level);
            }
        }
    }
    n
}

/// Checks every frame of a video.
pub fn check_video(
    path: &Path,
    rects: &[Rect],
    black_level: u8,
    report: &mut MaskingReport,
) -> anyhow::Result<()> {
    let mut capture = Capture::open(path, capture::Settings::default())?;
    while let Some(frame) = capture.next_frame()? {
        report.video_frames += 1;
        let n = exposed_in(&frame, rects, black_level);
        if n > 0 {
            report.exposed_pixels += n;
            if report.exposures.len() < MAX_LISTED {
                report.exposures.push(Exposure {
                    file: path.display().to_string(),
                    frame: Some(frame.index),
                    pixels: n,
                });
            }
        }
    }
    Ok(())
}

/// Maps a frame rectangle into a thumbnail of `source` scaled to `thumb_w × thumb_h`
/// (rounded outwards); `None` when the two do not overlap.
fn into_thumbnail(r: &Rect, source: &Rect, thumb_w: u32, thumb_h: u32) -> Option<Rect> {
    let (x0, y0) = (r.x.max(source.x), r.y.max(source.y));
    let (x1, y1) = (
        (r.x + r.width).min(source.x + source.width),
        (r.y + r.height).min(source.y + source.height),
    );
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    let (sx, sy) = (
        f64::from(thumb_w) / source.width as f64,
        f64::from(thumb_h) / source.height as f64,
    );
    let tx0 = ((x0 - source.x) as f64 * sx).floor() as usize;
    let ty0 = ((y0 - source.y) as f64 * sy).floor() as usize;
    let tx1 = (((x1 - source.x) as f64 * sx).ceil() as usize).max(tx0 + 1);
    let ty1 = (((y1 - source.y) as f64 * sy).ceil() as usize).max(ty0 + 1);
    Some(Rect {
        x: tx0,
        y: ty0,
        width: tx1 - tx0,
        height: ty1 - ty0,
    })
}

/// Checks the thumbnails listed in `segments.json`.
pub fn check_thumbnails(
    out_dir: &Path,
    rects: &[Rect],
    black_level: u8,
    report: &mut MaskingReport,
) -> anyhow::Result<()> {
    let path = out_dir.join(SEGMENTS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    let segments: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a segments file written by endoscan",
            path.display()
        )
    })?;
    for seg in segments["segments"].as_array().into_iter().flatten() {
        let Some(name) = seg["thumbnail"].as_str() else {
            continue;
        };
        let file = out_dir.join(name);
        let img = image::open(&file)
            .with_context(|| format!("{}: cannot read thumbnail", file.display()))?
            .into_rgb8();
        let frame = Frame::from_rgb_image(0, Default::default(), img);
        let source: Option<Rect> = serde_json::from_value(seg["thumbnail_source"].clone()).ok();
        let whole = Rect {
            x: 0,
            y: 0,
            width: frame.width as usize,
            height: frame.height as usize,
        };
        let mapped: Vec<Rect> = match source {
            Some(s) if s.width > 0 && s.height > 0 => rects
                .iter()
                .filter_map(|r| into_thumbnail(r, &s, frame.width, frame.height))
                .collect(),
            Some(_) => Vec::new(),
            None => vec![whole],
        };
        report.thumbnails += 1;
        let n = exposed_in(&frame, &mapped, black_level);
        if n > 0 {
            report.exposed_pixels += n;
            report.exposures.push(Exposure {
                file: file.display().to_string(),
                frame: seg["representative_frame"].as_u64(),
                pixels: n,
            });
        }
    }
    Ok(())
}

/// Top-level entry point of `endoscan check-masking`.
pub fn run(args: &CheckMaskingArgs) -> anyhow::Result<()> {
    if !args.out_dir.is_dir() {
        bail!(
            "{}: not a directory (give a study's --out folder)",
            args.out_dir.display()
        );
    }
    let mut report = MaskingReport::default();
    let video = args.out_dir.join(VIDEO_FILE);
    if video.exists() {
        check_video(&video, &args.panel, args.black_level, &mut report)?;
    }
    check_thumbnails(&args.out_dir, &args.panel, args.black_level, &mut report)?;
    if report.video_frames == 0 && report.thumbnails == 0 {
        bail!(
            "{}: no {VIDEO_FILE} and no thumbnails to check",
            args.out_dir.display()
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{}: {} video frames and {} thumbnails checked; {} exposed pixels in the panel",
            args.out_dir.display(),
            report.video_frames,
            report.thumbnails,
            report.exposed_pixels
        );
        for e in &report.exposures {
            let at = e.frame.map(|f| format!(" frame {f}")).unwrap_or_default();
            println!("  EXPOSED: {}{at}: {} pixels", e.file, e.pixels);
        }
    }
    if report.exposed_pixels > 0 {
        bail!(
            "patient-data panel exposed in {} exports",
            report.exposures.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectangles_parse_or_say_why_not() {
        assert_eq!(
            parse_rect("10, 20,30,40"),
            Ok(Rect {
                x: 10,
                y: 20,
                width: 30,
                height: 40
            })
        );
        assert!(parse_rect("1,2,3")
            .unwrap_err()
            .contains("x,y,width,height"));
        assert!(parse_rect("1,2,0,4").is_err());
        assert!(parse_rect("a,b,c,d").is_err());
    }

    #[test]
    fn a_panel_maps_into_a_thumbnail_or_not_at_all() {
        let source = Rect {
            x: 100,
            y: 0,
            width: 400,
            height: 200,
        };
        let left = Rect {
            x: 0,
            y: 0,
            width: 90,
            height: 200,
        };
        assert_eq!(into_thumbnail(&left, &source, 200, 100), None);
        let overlap = Rect {
            x: 0,
            y: 0,
            width: 150,
            height: 200,
        };
        assert_eq!(
            into_thumbnail(&overlap, &source, 200, 100),
            Some(Rect {
                x: 0,
                y: 0,
                width: 25,
                height: 100
            })
        );
    }
}
