//! Training data on real files: ImageFolder and CSV manifests, bad data, content hash, split
//! files, threaded loading with augmentation, and the `labels.csv` of `endoscan synth`.

use std::path::{Path, PathBuf};

use endoscan::data::split::{Split, SplitSettings, Subset};
use endoscan::data::{DataError, DataSettings, Dataset, Loader, LoaderSettings};
use endoscan::train::augment::Augmenter;
use endoscan::train::rng::Rng;
use endoscan::train::sampler::Sampler;
use image::{GrayImage, RgbImage};

/// A fresh, empty temp folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("endoscan-train-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn png(path: &Path, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_fn(24, 20, |x, y| image::Rgb([seed, x as u8 * 9, y as u8 * 11]))
        .save(path)
        .unwrap();
}

/// `cancer/` with `n_pos` and `non-cancer/` with `n_neg` PNGs.
fn image_folder(dir: &Path, n_pos: usize, n_neg: usize) {
    for i in 0..n_pos {
        png(&dir.join("cancer").join(format!("c{i:02}.png")), i as u8);
    }
    for i in 0..n_neg {
        png(
            &dir.join("non-cancer").join(format!("n{i:02}.png")),
            100 + i as u8,
        );
    }
}

#[test]
fn image_folder_loads_sorted_with_labels_and_a_stable_hash() {
    let dir = scratch("folder");
    image_folder(&dir, 3, 4);
    // Grayscale is fine (converted), non-image files are ignored.
    GrayImage::from_pixel(30, 30, image::Luma([90]))
        .save(dir.join("cancer/gray.png"))
        .unwrap();
    std::fs::write(dir.join("cancer/notes.txt"), "not an image").unwrap();
    let d = Dataset::open(&dir, &DataSettings::default()).unwrap();
    assert_eq!(d.class_counts(), vec![4, 4]);
    let keys: Vec<&str> = d.samples().iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys[..4],
        [
            "cancer/c00.png",
            "cancer/c01.png",
            "cancer/c02.png",
            "cancer/gray.png"
        ]
    );
    assert_eq!(d.samples()[4].label, 1);
    assert_eq!(d.decode(3).unwrap().get_pixel(5, 5).0, [90, 90, 90]);
    let hash = d.content_hash().unwrap().to_string();
    assert_eq!(hash.len(), 64);
    assert_eq!(
        Dataset::open(&dir, &DataSettings::default())
            .unwrap()
            .content_hash(),
        Some(hash.as_str())
    );
    // One changed pixel changes the hash.
    png(&dir.join("non-cancer/n00.png"), 1);
    let changed = Dataset::open(&dir, &DataSettings::default()).unwrap();
    assert_ne!(changed.content_hash(), Some(hash.as_str()));
}

#[test]
fn class_names_and_positive_class_are_configurable() {
    let dir = scratch("names");
    for i in 0..2 {
        png(&dir.join("benign").join(format!("b{i}.png")), i);
        png(&dir.join("egc").join(format!("e{i}.png")), i);
    }
    let settings = DataSettings {
        classes: vec!["benign".into(), "egc".into()],
        positive: "egc".into(),
        ..Default::default()
    };
    let d = Dataset::open(&dir, &settings).unwrap();
    assert_eq!(d.positive(), 1);
    assert_eq!(d.samples()[0].key, "benign/b0.png");
}

#[test]
fn empty_class_folder_is_a_clear_error() {
    let dir = scratch("empty");
    image_folder(&dir, 2, 0);
    std::fs::create_dir_all(dir.join("non-cancer")).unwrap();
    let err = Dataset::scan(&dir, &DataSettings::default()).unwrap_err();
    assert!(matches!(err, DataError::EmptyClassFolder(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("non-cancer") && msg.contains("holds no images"),
        "{msg}"
    );
}

#[test]
fn one_class_only_is_a_clear_error() {
    let dir = scratch("oneclass");
    image_folder(&dir, 2, 0);
    let msg = Dataset::scan(&dir, &DataSettings::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("class folder 'non-cancer' is missing") && msg.contains("[cancer]"),
        "{msg}"
    );

    let csv = dir.join("one.csv");
    std::fs::write(
        &csv,
        "path,label\ncancer/c00.png,cancer\ncancer/c01.png,cancer\n",
    )
    .unwrap();
    let msg = Dataset::scan(&csv, &DataSettings::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("one.csv") && msg.contains("no usable images of class 'non-cancer'"),
        "{msg}"
    );

    let nothing = scratch("noclasses");
    let msg = Dataset::scan(&nothing, &DataSettings::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("no class folders (cancer, non-cancer)"),
        "{msg}"
    );
}

#[test]
fn corrupt_and_odd_images_are_listed_together_unless_skipped() {
    let dir = scratch("corrupt");
    image_folder(&dir, 3, 3);
    std::fs::write(
        dir.join("cancer/broken.png"),
        b"\x89PNG\r\n\x1a\nthis is not a png",
    )
    .unwrap();
    std::fs::write(dir.join("non-cancer/empty.jpg"), b"").unwrap();
    RgbImage::new(4, 4)
        .save(dir.join("non-cancer/tiny.png"))
        .unwrap();
    std::fs::write(dir.join("non-cancer/scan.bmp"), b"BM").unwrap();

    let err = Dataset::open(&dir, &DataSettings::default()).unwrap_err();
    let DataError::BadImages { images, .. } = &err else {
        panic!("expected BadImages, got {err}");
    };
    assert_eq!(images.len(), 4, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("4 unreadable or odd images") && msg.contains("--skip-bad"),
        "{msg}"
    );
    assert!(
        msg.contains("scan.bmp: unsupported image format '.bmp'"),
        "{msg}"
    );
    assert!(msg.contains("broken.png: cannot decode"), "{msg}");
    assert!(msg.contains("empty.jpg: empty file"), "{msg}");
    assert!(msg.contains("tiny.png: odd size 4×4"), "{msg}");

    let skip = DataSettings {
        skip_bad: true,
        ..Default::default()
    };
    let d = Dataset::open(&dir, &skip).unwrap();
    assert_eq!(d.class_counts(), vec![3, 3]);
    assert_eq!(d.bad().len(), 4);
    assert!(d.content_hash().is_some());
}

#[test]
fn csv_manifest_like_synth_labels_with_patients() {
    let dir = scratch("manifest");
    image_folder(&dir.join("images"), 2, 2);
    std::fs::write(
        dir.join("labels.csv"),
        "path,label,patient_id,x,y,w,h\n\
         images/cancer/c00.png,cancer,7,1,2,3,4\n\
         images/cancer/c01.png,cancer,7,,,,\n\
         images/non-cancer/n00.png,non-cancer,8,,,,\n\
         \"images/non-cancer/n01.png\",non-cancer,,,,,\n",
    )
    .unwrap();
    // A folder without class folders but with labels.csv reads the manifest.
    let d = Dataset::open(&dir, &DataSettings::default()).unwrap();
    assert_eq!(d.class_counts(), vec![2, 2]);
    assert_eq!(d.samples()[1].patient.as_deref(), Some("7"));
    assert_eq!(d.samples()[3].patient, None);
    assert_eq!(d.samples()[3].path, dir.join("images/non-cancer/n01.png"));
    // The image folder itself still reads as an ImageFolder.
    assert_eq!(
        Dataset::open(&dir.join("images"), &DataSettings::default())
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn manifest_problems_are_reported_by_line() {
    let dir = scratch("manifest-bad");
    image_folder(&dir, 1, 1);
    let csv = dir.join("m.csv");
    std::fs::write(
        &csv,
        "path,label\ncancer/c00.png,tumour\nnon-cancer/n00.png,non-cancer\nnon-cancer/n00.png,non-cancer\n,cancer\n",
    )
    .unwrap();
    let msg = Dataset::scan(&csv, &DataSettings::default())
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with(&csv.display().to_string()), "{msg}");
    assert!(
        msg.contains("line 2: unknown label 'tumour' (expected one of: cancer, non-cancer)"),
        "{msg}"
    );
    assert!(
        msg.contains("line 4: 'non-cancer/n00.png' already listed on line 3"),
        "{msg}"
    );
    assert!(msg.contains("line 5: empty path"), "{msg}");

    std::fs::write(&csv, "file,class\na.png,cancer\n").unwrap();
    let msg = Dataset::scan(&csv, &DataSettings::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("header must name the columns 'path' and 'label'"),
        "{msg}"
    );

    std::fs::write(&csv, "path,label\ncancer/c00.png,cancer\nnon-cancer/gone.png,non-cancer\nnon-cancer/n00.png,non-cancer\n").unwrap();
    let msg = Dataset::open(&csv, &DataSettings::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("gone.png: no such file"), "{msg}");

    let msg = Dataset::scan(&dir.join("nope"), &DataSettings::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("nope: no such file or folder"), "{msg}");
}

#[test]
fn split_file_round_trips_on_disk_data() {
    let dir = scratch("split");
    image_folder(&dir, 10, 20);
    let d = Dataset::open(&dir, &DataSettings::default()).unwrap();
    let split = Split::stratified(
        &d,
        &SplitSettings {
            seed: 3,
            ..Default::default()
        },
    )
    .unwrap();
    let counts = split.counts(&d);
    assert_eq!(counts[0], vec![7, 14]);
    assert_eq!(counts[1][0] + counts[2][0], 3);
    assert!(
        counts[1][0].abs_diff(counts[2][0]) <= 1 && counts[1][1] == 3 && counts[2][1] == 3,
        "{counts:?}"
    );
    let file = dir.join("split.csv");
    split.write(&d, &file).unwrap();
    let back = Split::read(&d, &file).unwrap();
    assert_eq!(back, split);
    assert_eq!(
        back.indices(Subset::Test).len(),
        counts[2][0] + counts[2][1]
    );
}

#[test]
fn loader_decodes_and_augments_in_order_on_threads() {
    let dir = scratch("loader");
    image_folder(&dir, 6, 6);
    let d = std::sync::Arc::new(Dataset::open(&dir, &DataSettings::default()).unwrap());
    let sampler = Sampler::new(d.len(), 4, 11).unwrap();
    let jobs: Vec<(u64, Vec<usize>)> = (0..6).map(|step| (step, sampler.batch(step))).collect();
    let aug = Augmenter::default();
    let run = |workers| {
        let d = d.clone();
        let aug = aug.clone();
        let settings = LoaderSettings {
            workers,
            prefetch: 3,
        };
        Loader::new(
            jobs.clone(),
            settings,
            move |(step, indices): (u64, Vec<usize>)| {
                indices
                    .iter()
                    .map(|&i| {
                        let img = d.decode(i)?;
                        Ok((
                            d.samples()[i].label,
                            aug.augment(img, &mut Rng::derive(5, &[step, i as u64])),
                        ))
                    })
                    .collect::<Result<Vec<_>, DataError>>()
            },
        )
        .map(Result::unwrap)
        .collect::<Vec<_>>()
    };
    let one = run(1);
    let four = run(4);
    assert_eq!(one.len(), 6);
    assert!(one.iter().all(|b| b.len() == 4));
    // Same seeds, same images, whatever the thread count.
    assert_eq!(one, four);
}

#[test]
fn synth_labels_csv_splits_by_patient() {
    let dir = scratch("synth");
    let args = endoscan::synth::SynthArgs {
        out: dir.clone(),
        seed: 9,
        images: 60,
        video: None,
        fps: endoscan::synth::DEFAULT_FPS,
        size: Some("320x240".into()),
        layout: endoscan::synth::Layout::Tower,
        positive_fraction: 0.3,
    };
    endoscan::synth::run(&args).unwrap();
    let d = Dataset::open(&dir, &DataSettings::default()).unwrap();
    assert_eq!(d.len(), 60);
    assert_eq!(d.class_counts(), vec![18, 42]);
    assert!(d.samples().iter().all(|s| s.patient.is_some()));
    let split = Split::stratified(
        &d,
        &SplitSettings {
            seed: 4,
            ..Default::default()
        },
    )
    .unwrap();
    let mut seen = std::collections::HashMap::new();
    for (i, s) in d.samples().iter().enumerate() {
        let sub = split.subset_of(i).unwrap();
        assert_eq!(
            *seen.entry(s.patient.clone().unwrap()).or_insert(sub),
            sub,
            "{:?}",
            s.patient
        );
    }
    let counts = split.counts(&d);
    assert!(
        counts.iter().all(|c| c.iter().all(|&n| n > 0)),
        "{counts:?}"
    );
    let file = dir.join("split.csv");
    split.write(&d, &file).unwrap();
    assert_eq!(Split::read(&d, &file).unwrap(), split);
}
