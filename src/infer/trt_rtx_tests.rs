use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("endoscan-trt-rtx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn tensorrt_rtx_runs_on_the_rtx_generations_not_on_hopper() {
    let cc = ComputeCapability::new;
    for ok in [cc(7, 5), cc(8, 6), cc(8, 9), cc(12, 0), cc(12, 1)] {
        assert!(supports(ok), "{ok}");
        assert_eq!(unsupported_reason(ok), None);
    }
    for not in [cc(9, 0), cc(7, 0), cc(8, 0), cc(10, 0), cc(6, 1)] {
        assert!(!supports(not), "{not}");
    }
    let why = unsupported_reason(cc(9, 0)).unwrap();
    assert!(why.contains("compute capability 9.0"), "{why}");
}

#[test]
fn an_explicit_plugin_is_a_file_or_the_folder_holding_it() {
    let dir = scratch("explicit");
    assert_eq!(candidates(Some(&dir), &[]), [dir.join(PLUGIN_FILE)]);
    let file = dir.join("custom.so");
    assert_eq!(candidates(Some(&file), std::slice::from_ref(&dir)), [file]);
}

#[test]
fn the_wheel_is_looked_for_in_each_python_of_each_venv() {
    let root = scratch("venv");
    for python in ["python3.13", "python3.11", "not-python"] {
        std::fs::create_dir_all(root.join(".venv/lib").join(python)).unwrap();
    }
    let bare = scratch("bare");
    let found = candidates(None, &[root.clone(), bare.clone()]);
    let package = |python: &str| {
        root.join(".venv/lib")
            .join(python)
            .join("site-packages")
            .join(PACKAGE_DIR)
            .join(PLUGIN_FILE)
    };
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], package("python3.11"));
    assert_eq!(found[1], package("python3.13"));
    // A root without a venv still names where it looked.
    assert!(found[2].starts_with(bare.join(".venv/lib")), "{found:?}");
}

#[test]
fn the_real_library_is_preferred_to_its_soname_link() {
    let dir = scratch("siblings");
    std::fs::write(dir.join("libtensorrt_rtx.so.1.7.1"), b"x").unwrap();
    std::os::unix::fs::symlink("libtensorrt_rtx.so.1.7.1", dir.join("libtensorrt_rtx.so.1"))
        .unwrap();
    assert_eq!(
        sibling(&dir, "libtensorrt_rtx.so.1"),
        Some(dir.join("libtensorrt_rtx.so.1.7.1"))
    );
    assert_eq!(sibling(&dir, "libcudart.so.13"), None);
    assert_eq!(version(&dir.join(PLUGIN_FILE)).as_deref(), Some("1.7.1"));
    assert_eq!(version(&scratch("no-version").join(PLUGIN_FILE)), None);
}

#[test]
fn a_broken_sibling_library_is_an_error_naming_it() {
    let dir = scratch("broken");
    let fake = dir.join("libcudart.so.13.4.36");
    std::fs::write(&fake, b"not an ELF file").unwrap();
    let err = load_siblings(&dir.join(PLUGIN_FILE)).unwrap_err();
    assert!(
        err.starts_with(&format!("{}: cannot load", fake.display())),
        "{err}"
    );
    // With none there, nothing is loaded and nothing fails.
    assert_eq!(load_siblings(&scratch("none").join(PLUGIN_FILE)), Ok(()));
}

#[test]
fn the_runtime_cache_is_the_only_session_option() {
    assert!(session_options(None).is_empty());
    let options = session_options(Some(Path::new("/tmp/engines/x")));
    assert_eq!(
        options,
        [(
            "NvTensorRTRTXExecutionProvider.nv_runtime_cache_path".to_string(),
            "/tmp/engines/x".to_string()
        )]
    );
}
