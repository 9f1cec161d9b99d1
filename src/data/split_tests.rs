//! Tests of [`super`]: targets, grouping, determinism and split files.

use super::*;
use crate::data::{DataSettings, Sample};

/// `n_pos` cancer + `n_neg` non-cancer samples; patient `i / per_patient` when grouped.
fn dataset(n_pos: usize, n_neg: usize, per_patient: Option<usize>) -> Dataset {
    let samples = (0..n_pos + n_neg)
        .map(|i| Sample {
            path: PathBuf::from(format!("/d/{i}.png")),
            key: format!("{i}.png"),
            label: usize::from(i >= n_pos),
            patient: per_patient.map(|k| format!("p{}", i / k)),
        })
        .collect();
    Dataset::from_samples("/d".into(), samples, &DataSettings::default()).unwrap()
}

#[test]
fn ungrouped_split_hits_the_targets_per_class() {
    let d = dataset(100, 200, None);
    let split = Split::stratified(&d, &SplitSettings::default()).unwrap();
    assert_eq!(
        split.counts(&d),
        [vec![70, 140], vec![15, 30], vec![15, 30]]
    );
}

#[test]
fn grouped_split_keeps_patients_together_and_stays_near_targets() {
    // 3 images per patient; patients are single-class (cancer 0..99, non-cancer 100..299).
    let d = dataset(300, 600, Some(3));
    let split = Split::stratified(
        &d,
        &SplitSettings {
            seed: 5,
            ..Default::default()
        },
    )
    .unwrap();
    let mut patient_subset: HashMap<&str, Subset> = HashMap::new();
    for (i, s) in d.samples().iter().enumerate() {
        let sub = split.subset_of(i).unwrap();
        let prev = patient_subset.insert(s.patient.as_deref().unwrap(), sub);
        assert!(
            prev.is_none_or(|p| p == sub),
            "patient {:?} in two subsets",
            s.patient
        );
    }
    let counts = split.counts(&d);
    let targets = [[210.0, 420.0], [45.0, 90.0], [45.0, 90.0]];
    for s in 0..3 {
        for c in 0..2 {
            let diff = (counts[s][c] as f64 - targets[s][c]).abs();
            assert!(
                diff <= 3.0,
                "subset {s} class {c}: {} vs {}",
                counts[s][c],
                targets[s][c]
            );
        }
    }
}

#[test]
fn uneven_patients_still_split_sensibly() {
    // Patients with 1..=10 images each, both classes mixed within some patients.
    let mut samples = Vec::new();
    let mut i = 0;
    for p in 0..80 {
        for k in 0..(p % 10 + 1) {
            samples.push(Sample {
                path: PathBuf::from(format!("/d/{i}.png")),
                key: format!("{i}.png"),
                label: usize::from((p + k) % 3 == 0),
                patient: Some(format!("p{p}")),
            });
            i += 1;
        }
    }
    let d = Dataset::from_samples("/d".into(), samples, &DataSettings::default()).unwrap();
    let split = Split::stratified(&d, &SplitSettings::default()).unwrap();
    let counts = split.counts(&d);
    let totals = d.class_counts();
    for (s, f) in DEFAULT_FRACTIONS.iter().enumerate() {
        for c in 0..2 {
            let share = counts[s][c] as f64 / totals[c] as f64;
            assert!(
                (share - f).abs() < 0.06,
                "subset {s} class {c}: share {share:.3}"
            );
        }
    }
}

#[test]
fn same_seed_same_split_other_seed_other_split() {
    let d = dataset(40, 60, Some(2));
    let a = Split::stratified(
        &d,
        &SplitSettings {
            seed: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let b = Split::stratified(
        &d,
        &SplitSettings {
            seed: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let c = Split::stratified(
        &d,
        &SplitSettings {
            seed: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn rejects_bad_fractions_and_tiny_datasets() {
    let d = dataset(40, 60, None);
    let bad = SplitSettings {
        fractions: [0.8, 0.15, 0.15],
        seed: 0,
    };
    assert!(matches!(
        Split::stratified(&d, &bad),
        Err(SplitError::Fractions(_))
    ));
    let two_patients = dataset(2, 2, Some(2));
    let err = Split::stratified(&two_patients, &SplitSettings::default()).unwrap_err();
    assert!(err.to_string().contains("2 patient group"), "{err}");
}

#[test]
fn split_files_round_trip_and_are_checked() {
    let dir = std::env::temp_dir().join(format!("endoscan-split-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(SPLIT_FILE);
    let d = dataset(10, 20, Some(2));
    let split = Split::stratified(&d, &SplitSettings::default()).unwrap();
    split.write(&d, &file).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("path,label,patient_id,subset\n0.png,cancer,p0,"),
        "{text}"
    );
    assert_eq!(Split::read(&d, &file).unwrap(), split);

    std::fs::write(
        &file,
        "path,label,subset\n0.png,non-cancer,test\nzz.png,cancer,val\n1.png,cancer,holdout\n",
    )
    .unwrap();
    let err = Split::read(&d, &file).unwrap_err().to_string();
    assert!(err.contains("split.csv"), "{err}");
    assert!(
        err.contains("line 2") && err.contains("labelled 'non-cancer'"),
        "{err}"
    );
    assert!(
        err.contains("line 3") && err.contains("'zz.png' is not in the dataset"),
        "{err}"
    );
    assert!(err.contains("line 4") && err.contains("holdout"), "{err}");

    std::fs::write(&file, "path,label,subset\n0.png,cancer,test\n").unwrap();
    let partial = Split::read(&d, &file).unwrap();
    assert_eq!(partial.indices(Subset::Test), vec![0]);
    assert_eq!(partial.subset_of(1), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
