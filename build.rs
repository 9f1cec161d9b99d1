//! Keeps libtorch's CUDA library linked in `train` builds.
//!
//! torch-sys asks for `libtorch_cuda.so`, but no symbol of it is used directly, so the linker's
//! `--as-needed` drops it; libtorch then never registers its CUDA backend and
//! `tch::Cuda::is_available()` is false on any GPU (docs/gpu.md, "the link trap"). tch-rs's own
//! binaries link it with `--no-as-needed`; so do ours, when the library is there (a CPU-only
//! libtorch has none). `tests/torch_scorer.rs` checks the binary's NEEDED list.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_TRAIN").is_none() {
        return;
    }
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys did not say where libtorch is; libtorch_cuda.so is not linked, so --provider torch-cuda will see no GPU");
        return;
    };
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
