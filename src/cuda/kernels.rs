//! The CUDA C sources of `kernels/`, built into the binary, and the program text NVRTC
//! compiles: the shared prelude, then the kernel file, each under its own `#line` name so
//! compiler messages name the file and line a developer edits.

/// One kernel file of `kernels/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSource {
    /// File name under `kernels/`, as compiler messages name it.
    pub file: &'static str,
    /// The file's text.
    pub text: &'static str,
    /// The `extern "C"` entry points it defines.
    pub entry_points: &'static [&'static str],
}

/// Types, frame layout and pixel fetch shared by every kernel (`kernels/prelude.cuh`).
pub const PRELUDE: &str = include_str!("../../kernels/prelude.cuh");

/// Fused crop, masked resize and normalize (`kernels/prepare.cu`).
pub const PREPARE: KernelSource = KernelSource {
    file: "prepare.cu",
    text: include_str!("../../kernels/prepare.cu"),
    entry_points: &["prepare_u8", "prepare_f32", "prepare_f16"],
};

/// Content-area statistics (`kernels/cell_stats.cu`).
pub const CELL_STATS: KernelSource = KernelSource {
    file: "cell_stats.cu",
    text: include_str!("../../kernels/cell_stats.cu"),
    entry_points: &["cell_counts", "row_spans"],
};

/// Every kernel file endoscan compiles.
pub const ALL: [KernelSource; 2] = [PREPARE, CELL_STATS];

impl KernelSource {
    /// What NVRTC compiles: the prelude, then this file, with `#line` markers.
    pub fn program(&self) -> String {
        format!(
            "#line 1 \"prelude.cuh\"\n{PRELUDE}\n#line 1 \"{}\"\n{}",
            self.file, self.text
        )
    }
}
