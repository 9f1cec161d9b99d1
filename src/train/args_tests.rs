use super::*;
use clap::Parser;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    train: TrainArgs,
}

fn parse(args: &[&str]) -> Result<TrainArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("train").chain(args.iter().copied())).map(|c| c.train)
}

#[test]
fn new_runs_need_data_variant_and_out() {
    assert!(parse(&["--data", "d", "--variant", "r14x0.5"]).is_err());
    let a = parse(&["--data", "d", "--variant", "r14x0.5", "--out", "o"]).unwrap();
    assert_eq!(a.batch, BatchChoice::Auto);
    assert_eq!(a.classes, ["cancer", "non-cancer"]);
    assert!(parse(&["--data", "d", "--variant", "r51x1", "--out", "o"]).is_err());
}

#[test]
fn resume_takes_only_runtime_flags() {
    let a = parse(&["--resume", "run", "--threads", "1", "--device", "cpu"]).unwrap();
    assert_eq!(a.resume.as_deref(), Some(Path::new("run")));
    let err = parse(&["--resume", "run", "--lr", "0.1"]).unwrap_err();
    assert!(err.to_string().contains("--lr"), "{err}");
}

#[test]
fn batch_parses_numbers_and_auto() {
    assert_eq!("auto".parse::<BatchChoice>(), Ok(BatchChoice::Auto));
    assert_eq!("16".parse::<BatchChoice>(), Ok(BatchChoice::Fixed(16)));
    assert!("0".parse::<BatchChoice>().is_err());
    assert!("x".parse::<BatchChoice>().is_err());
}

#[test]
fn config_checks_values_and_round_trips_through_json() {
    let dir = std::env::temp_dir();
    let d = dir.to_str().unwrap();
    let bad = parse(&[
        "--data",
        d,
        "--variant",
        "r14x0.5",
        "--out",
        "o",
        "--lr",
        "0",
    ]);
    assert!(TrainConfig::from_args(&bad.unwrap()).is_err());
    let missing = parse(&[
        "--data",
        "/no/such/dir",
        "--variant",
        "r14x0.5",
        "--out",
        "o",
    ]);
    let err = TrainConfig::from_args(&missing.unwrap()).unwrap_err();
    assert!(format!("{err:#}").contains("/no/such/dir"), "{err:#}");
    let args = parse(&[
        "--data",
        d,
        "--variant",
        "r14x0.5",
        "--out",
        "o",
        "--rule",
        "bit",
        "--batch",
        "8",
    ])
    .unwrap();
    let config = TrainConfig::from_args(&args).unwrap();
    assert!(config.out.is_absolute());
    let json = serde_json::to_string(&config).unwrap();
    assert!(json.contains("\"variant\":\"r14x0.5\""), "{json}");
    let back: TrainConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);
}

#[test]
fn the_sensitivity_target_is_checked_and_older_runs_get_the_default() {
    let d = std::env::temp_dir();
    let d = d.to_str().unwrap();
    let with = |target: &str| {
        let flags = ["--data", d, "--variant", "r14x0.5", "--out", "o"];
        let mut flags = flags.to_vec();
        flags.extend([
            "--threshold-rule",
            "sensitivity",
            "--min-sensitivity",
            target,
        ]);
        TrainConfig::from_args(&parse(&flags).unwrap())
    };
    for bad in ["0", "1.5", "2", "NaN"] {
        let err = with(bad).unwrap_err();
        assert!(format!("{err:#}").contains("--min-sensitivity"), "{err:#}");
    }
    let config = with("0.9").unwrap();
    assert_eq!(config.threshold_rule, ThresholdRule::Sensitivity);
    assert_eq!(config.min_sensitivity, 0.9);
    // A run.json written before the rule existed has no min_sensitivity.
    let mut json = serde_json::to_value(&config).unwrap();
    json.as_object_mut().unwrap().remove("min_sensitivity");
    let back: TrainConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back.min_sensitivity, DEFAULT_MIN_SENSITIVITY);
}
