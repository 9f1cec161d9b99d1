//! Every kernel compiles for every supported GPU, with no GPU: NVRTC only needs its library.

use super::*;
use crate::cuda::arch::SUPPORTED;
use crate::cuda::kernels::ALL;

#[test]
fn every_kernel_compiles_for_every_supported_capability() {
    let (major, _) = nvrtc_version().expect("NVRTC is installed by scripts/setup");
    assert!(major >= 12, "NVRTC {major}");
    for kernel in ALL {
        for arch in SUPPORTED {
            let ptx = compile(&kernel, arch)
                .unwrap_or_else(|e| panic!("{} for {arch}: {e}", kernel.file));
            let target = format!(".target sm_{}{}", arch.major, arch.minor);
            assert!(
                ptx.contains(&target),
                "{} for {arch}: no `{target}`",
                kernel.file
            );
            for entry in kernel.entry_points {
                assert!(
                    ptx.contains(&format!(".entry {entry}(")),
                    "{} for {arch} lacks entry point {entry}",
                    kernel.file
                );
            }
        }
    }
}

#[test]
fn a_broken_kernel_fails_with_its_file_and_line() {
    let text = "#line 1 \"broken.cu\"\nextern \"C\" __global__ void k(int* p) {\n    *p = undefined_name;\n}\n";
    let err = compile_text("broken.cu", text, ComputeCapability::new(9, 0)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("kernel broken.cu does not compile for compute capability 9.0"),
        "{msg}"
    );
    assert!(
        msg.contains("broken.cu(2)"),
        "the log names file and line: {msg}"
    );
    assert!(msg.contains("undefined_name"), "{msg}");
}

#[test]
fn errors_in_a_kernel_file_name_that_file_not_the_prelude() {
    let kernel = KernelSource {
        file: "typo.cu",
        text: "extern \"C\" __global__ void k(u8* p) {\n    p[0] = clamp_u8(1) +;\n}\n",
        entry_points: &["k"],
    };
    let msg = compile(&kernel, ComputeCapability::new(8, 6))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("typo.cu(2)"), "{msg}");
}

#[test]
fn the_cache_is_keyed_and_reused() {
    let dir = std::env::temp_dir().join(format!("endoscan-kcache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let kernel = crate::cuda::kernels::CELL_STATS;
    let arch = ComputeCapability::new(8, 9);
    let first = compile_cached(&kernel, arch, &dir).unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().into_string().unwrap();
    assert!(
        name.starts_with("cell_stats-compute_89-") && name.ends_with(".ptx"),
        "{name}"
    );
    // A cached entry is what comes back: overwrite it and read it through the cache.
    std::fs::write(files[0].path(), "cached").unwrap();
    assert_eq!(compile_cached(&kernel, arch, &dir).unwrap(), "cached");
    // Another architecture is another entry.
    let other = compile_cached(&kernel, ComputeCapability::new(9, 0), &dir).unwrap();
    assert_ne!(other, first);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
