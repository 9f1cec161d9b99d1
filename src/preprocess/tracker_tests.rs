use super::*;
use image::RgbImage;
use std::time::Duration;

const FRAME: Duration = Duration::from_micros(33_333);

fn frame(index: u64, img: RgbImage) -> Frame {
    let mut f = Frame::from_rgb_image(index, FRAME * index as u32, img);
    f.duration = Some(FRAME);
    f
}

/// A textured disc centred at `cx` on black; `dark` makes it nearly black (a dark lumen frame).
fn disc(index: u64, cx: f32, dark: bool) -> Frame {
    let img = RgbImage::from_fn(128, 72, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - 36.0);
        let inside = dx * dx + dy * dy < 30.0 * 30.0;
        let shade = ((x * 7 + y * 13) % 90) as u8;
        if inside && !dark {
            image::Rgb([120 + shade, 60 + shade / 2, 50])
        } else if inside {
            image::Rgb([10, 5, 5])
        } else {
            image::Rgb([0, 0, 0])
        }
    });
    frame(index, img)
}

fn white(index: u64) -> Frame {
    frame(
        index,
        RgbImage::from_pixel(128, 72, image::Rgb([255, 255, 255])),
    )
}

fn run(tracker: &mut AreaTracker, frames: impl IntoIterator<Item = Frame>) -> Vec<Located> {
    let mut out = Vec::new();
    for f in frames {
        out.extend(tracker.push(f));
    }
    out.extend(tracker.finish());
    out
}

fn settings(block: usize) -> TrackerSettings {
    TrackerSettings {
        block,
        ..TrackerSettings::video(AreaSettings::default())
    }
}

#[test]
fn nothing_is_shown_before_an_area_has_stayed_put() {
    let mut t = AreaTracker::new(settings(8));
    let out = run(&mut t, (0..24).map(|i| disc(i, 40.0, false)));
    assert_eq!(out.len(), 24);
    // Frames 0–7 span 267 ms (< 500 ms): no area yet, black and scored 0.
    for l in &out[..8] {
        assert_eq!((l.area.is_none(), l.status), (true, FrameStatus::NoArea));
    }
    // The second block brings the candidate to 533 ms: trusted from then on.
    let area = out[8].area.clone().expect("trusted at frame 8");
    assert!(area.contains(40, 36) && !area.contains(100, 36));
    assert!(out[8..].iter().all(|l| l.status == FrameStatus::Ok));
    assert_eq!(t.changes(), 1);
}

#[test]
fn a_dark_frame_takes_the_blocks_area() {
    let mut t = AreaTracker::new(settings(4));
    let mut frames: Vec<Frame> = (0..24).map(|i| disc(i, 40.0, false)).collect();
    frames[22] = disc(22, 40.0, true);
    let out = run(&mut t, frames);
    let trusted = out[23].area.clone().unwrap();
    assert!(Arc::ptr_eq(out[22].area.as_ref().unwrap(), &trusted));
}

#[test]
fn white_outs_never_enlarge_the_area_and_are_not_pictures() {
    for (label, frames) in [
        ("white at the start", {
            let mut f: Vec<Frame> = (0..10).map(white).collect();
            f.extend((10..40).map(|i| disc(i, 40.0, false)));
            f
        }),
        ("white in the middle", {
            let mut f: Vec<Frame> = (0..40).map(|i| disc(i, 40.0, false)).collect();
            for i in [20, 21, 27] {
                f[i] = white(i as u64);
            }
            f
        }),
    ] {
        let mut t = AreaTracker::new(settings(8));
        let out = run(&mut t, frames);
        for l in &out {
            if let Some(area) = &l.area {
                let b = area.bounds();
                assert!(
                    b.x >= 8 && b.x + b.width <= 72,
                    "{label}: frame {} {b:?}",
                    l.frame.index
                );
            }
            let is_white = l.frame.pixel(0, 0) == [255, 255, 255];
            assert_eq!(
                is_white,
                l.status == FrameStatus::Saturated,
                "{label}: {}",
                l.frame.index
            );
            assert!(
                !is_white || l.area.is_none(),
                "{label}: a white-out is shown"
            );
        }
        assert_eq!(t.changes(), 1, "{label}");
    }
}

#[test]
fn a_moved_area_is_black_until_it_has_stayed_put() {
    let mut t = AreaTracker::new(settings(4));
    let frames = (0..60).map(|i| disc(i, if i < 24 { 40.0 } else { 90.0 }, false));
    let out = run(&mut t, frames);
    // The new place shares too little with the old one: black while it proves itself.
    assert!(out[24..28].iter().all(|l| l.area.is_none()));
    let last = out[59].area.clone().unwrap();
    assert!(last.contains(90, 36) && !last.contains(40, 36));
    // Nothing ever shows a pixel outside both discs' union of trusted places.
    let first_new = out
        .iter()
        .position(|l| l.area.as_ref().is_some_and(|a| a.contains(90, 36)));
    let first_new = first_new.unwrap();
    // Blocks of 4 from frame 24: after 3 blocks the new place has stayed put for 12 frames
    // (400 ms < 500 ms), after 4 blocks for 16 frames (533 ms): shown from the 4th block on.
    assert_eq!(first_new, 36);
    assert_eq!(t.changes(), 2);
}

#[test]
fn corrupt_frames_get_no_area_and_are_no_evidence() {
    let mut t = AreaTracker::new(settings(8));
    let mut frames: Vec<Frame> = (0..32).map(|i| disc(i, 40.0, false)).collect();
    frames[20].corrupt = Some("test".into());
    frames[20].data = crate::capture::Pixels::Host(vec![128; frames[20].data.len()]);
    let out = run(&mut t, frames);
    assert_eq!(out[20].status, FrameStatus::Corrupt);
    assert!(out[20].area.is_none());
    assert!(out[21].area.as_ref().unwrap().bounds().width < 64);
}

#[test]
fn black_frames_have_no_area_and_sizes_split_blocks() {
    let mut t = AreaTracker::new(settings(8));
    assert!(t.push(frame(0, RgbImage::new(128, 72))).is_empty());
    // A different size ends the block.
    let out = t.push(frame(1, RgbImage::new(64, 64)));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, FrameStatus::NoArea);
    let rest = t.finish();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].frame.index, 1);
}

#[test]
fn a_still_is_trusted_on_its_own() {
    let mut t = AreaTracker::new(TrackerSettings::still(AreaSettings::default()));
    let out = run(&mut t, [disc(0, 40.0, false)]);
    assert_eq!(out[0].status, FrameStatus::Ok);
    let mut t = AreaTracker::new(TrackerSettings::still(AreaSettings::default()));
    assert_eq!(run(&mut t, [white(0)])[0].status, FrameStatus::Saturated);
}

#[test]
fn statuses_round_trip_by_name() {
    for s in FrameStatus::ALL {
        assert_eq!(FrameStatus::parse(s.name()), Some(s));
    }
    assert_eq!(FrameStatus::parse("fine"), None);
}
