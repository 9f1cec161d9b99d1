//! Where the bundled demo model's alerts point on the bundled sample (`samples/sample.mp4`,
//! truth in `samples/sample_ground_truth.csv`): a box on every flagged frame and on no other,
//! on the lesion (pointing game and IoU bounds), in `segments.json` and drawn on the
//! thumbnails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_endoscan");
/// The box colour (`endoscan::overlay::FINDING`).
const FINDING: [u8; 3] = [0, 230, 255];
/// Lower bounds over the flagged lesion frames of the sample; measured and margins in
/// `models/README.md`.
const MIN_POINTING: f64 = 0.3;
const MIN_MEAN_IOU: f64 = 0.15;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("localization")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Header → column index, and the rows, of a CSV without quoted fields.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// `[x0, y0, x1, y1]` from four fields, `None` if they are empty.
fn rect(fields: &[String]) -> Option<[f64; 4]> {
    if fields.iter().all(|f| f.is_empty()) {
        return None;
    }
    let v: Vec<f64> = fields.iter().map(|f| f.parse().unwrap()).collect();
    Some([v[0], v[1], v[0] + v[2], v[1] + v[3]])
}

fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    w * h / (area(a) + area(b) - w * h)
}

#[test]
fn alerts_on_the_sample_point_at_the_lesion() {
    let out = scratch("sample");
    let run = Command::new(BIN)
        .args(["reprocess", "--out"])
        .arg(&out)
        .arg("--no-video")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let (fh, frames) = read_csv(&out.join("frames.csv"));
    let (th, truth) = read_csv(&root().join("samples/sample_ground_truth.csv"));
    assert_eq!(frames.len(), truth.len());
    let (flagged, bx, px) = (col(&fh, "flagged"), col(&fh, "box_x"), col(&fh, "peak_x"));
    let (label, tx) = (col(&th, "label"), col(&th, "x"));
    let (mut lesion_flagged, mut hits, mut iou_sum) = (0, 0, 0.0);
    for (f, t) in frames.iter().zip(&truth) {
        let found = rect(&f[bx..bx + 4]);
        assert_eq!(
            found.is_some(),
            f[flagged] == "1",
            "frame {}: box iff flagged",
            f[0]
        );
        let (Some(found), Some(lesion)) = (found, rect(&t[tx..tx + 4])) else {
            continue;
        };
        assert_eq!(t[label], "cancer");
        let (peak_x, peak_y): (f64, f64) = (f[px].parse().unwrap(), f[px + 1].parse().unwrap());
        assert!(found[0] <= peak_x && peak_x < found[2] && found[1] <= peak_y && peak_y < found[3]);
        lesion_flagged += 1;
        let (cx, cy) = (peak_x + 0.5, peak_y + 0.5);
        hits += usize::from(lesion[0] <= cx && cx < lesion[2] && lesion[1] <= cy && cy < lesion[3]);
        iou_sum += iou(found, lesion);
    }
    assert!(
        lesion_flagged >= 50,
        "{lesion_flagged} flagged lesion frames"
    );
    let pointing = hits as f64 / lesion_flagged as f64;
    let mean_iou = iou_sum / lesion_flagged as f64;
    println!("{lesion_flagged} flagged lesion frames: pointing game {pointing:.3}, mean IoU {mean_iou:.3}");
    assert!(pointing >= MIN_POINTING, "pointing game {pointing:.3}");
    assert!(mean_iou >= MIN_MEAN_IOU, "mean IoU {mean_iou:.3}");

    let segments: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("segments.json")).unwrap()).unwrap();
    let segments = segments["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for s in segments {
        let frame = s["representative_frame"].as_u64().unwrap() as usize;
        let finding = &s["finding"];
        assert_eq!(
            finding["x"].as_f64().map(|x| x.to_string()),
            Some(frames[frame][bx].clone()),
            "segment {s}: the representative frame's box"
        );
        let thumb = image::open(out.join(s["thumbnail"].as_str().unwrap()))
            .unwrap()
            .to_rgb8();
        let boxed = thumb.pixels().filter(|p| p.0 == FINDING).count();
        assert!(
            boxed > 20,
            "segment {s}: {boxed} box pixels in the thumbnail"
        );
    }
}
