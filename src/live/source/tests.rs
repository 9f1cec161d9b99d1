//! SOURCE parsing: every kind of source, and bad ones named in the error.

use super::*;

#[test]
fn test_sources_take_their_options() {
    assert_eq!(
        SourceSpec::parse("test://").unwrap(),
        SourceSpec::Test(TestSpec::default())
    );
    let SourceSpec::Test(spec) =
        SourceSpec::parse("test://?fps=60&size=960x540&seconds=4&seed=9&lose=5+2.5").unwrap()
    else {
        panic!("not a test source");
    };
    assert_eq!(
        spec,
        TestSpec {
            fps: 60,
            width: 960,
            height: 540,
            seconds: 4.0,
            seed: 9,
            lose: Some((5.0, 2.5)),
        }
    );
}

#[test]
fn bad_test_options_are_named() {
    for (source, named) in [
        ("test://?fps=0", "fps=0"),
        ("test://?size=100x100", "tower"),
        ("test://?colour=red", "colour"),
        ("test://?lose=5", "lose=5"),
        ("test://?fps", "'fps'"),
    ] {
        let err = format!("{:#}", SourceSpec::parse(source).unwrap_err());
        assert!(err.contains(named), "{source}: {err}");
    }
}

#[test]
fn devices_uris_and_files_are_told_apart() {
    assert_eq!(
        SourceSpec::parse("/dev/video0").unwrap(),
        SourceSpec::Device("/dev/video0".into())
    );
    assert_eq!(
        SourceSpec::parse("rtsp://10.0.0.5:8554/scope").unwrap(),
        SourceSpec::Uri {
            uri: "rtsp://10.0.0.5:8554/scope".into(),
            file: false
        }
    );
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/sample.mp4");
    let SourceSpec::Uri { uri, file } = SourceSpec::parse(sample).unwrap() else {
        panic!("a file is played through a URI");
    };
    assert!(file);
    assert!(
        uri.starts_with("file:///") && uri.ends_with("samples/sample.mp4"),
        "{uri}"
    );
}

#[test]
fn missing_files_and_pipelines_are_named() {
    let err = format!("{:#}", SourceSpec::parse("/nowhere/study.mp4").unwrap_err());
    assert!(err.contains("/nowhere/study.mp4"), "{err}");
    let err = format!(
        "{:#}",
        SourceSpec::parse("pipeline:/nowhere/src.txt").unwrap_err()
    );
    assert!(err.contains("/nowhere/src.txt"), "{err}");
}

#[test]
fn pipeline_files_lose_their_comments() {
    let dir = std::env::temp_dir().join(format!("endoscan-src-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("src.txt");
    std::fs::write(
        &file,
        "# a capture card\nvideotestsrc is-live=true # moving\n",
    )
    .unwrap();
    let spec = SourceSpec::parse(&format!("pipeline:{}", file.display())).unwrap();
    let SourceSpec::Description { text, .. } = spec else {
        panic!("not a description");
    };
    assert_eq!(text.trim(), "videotestsrc is-live=true");
    std::fs::write(&file, "# nothing\n").unwrap();
    let err = format!(
        "{:#}",
        SourceSpec::parse(&format!("pipeline:{}", file.display())).unwrap_err()
    );
    assert!(err.contains("empty"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
