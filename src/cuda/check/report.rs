//! The check's results: `results.json` (everything measured) and `summary.md` (the tables a
//! person reads, also printed).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::accuracy::{Comparison, LocateComparison};
use super::timing::{CopyBandwidth, Timing};
use crate::cuda::probe::{version_text, CudaReport, Gpu};

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub struct Results {
    pub date: String,
    pub gpu: Gpu,
    pub driver: String,
    pub nvrtc: String,
    pub comparisons: Vec<Comparison>,
    pub locates: Vec<LocateComparison>,
    pub copy: CopyBandwidth,
    pub timings: Vec<Timing>,
}

impl Results {
    pub fn new(
        report: &CudaReport,
        comparisons: Vec<Comparison>,
        locates: Vec<LocateComparison>,
        copy: CopyBandwidth,
        timings: Vec<Timing>,
    ) -> Self {
        Self {
            date: crate::util::clock::utc_now(),
            gpu: report.gpus[0].clone(),
            driver: report
                .driver
                .as_ref()
                .map_or("?".into(), |v| version_text(*v)),
            nvrtc: report
                .nvrtc
                .as_ref()
                .map_or("?".into(), |(a, b)| format!("{a}.{b}")),
            comparisons,
            locates,
            copy,
            timings,
        }
    }

    /// Whether every output matched the reference within its bound and every area agreed.
    pub fn all_pass(&self) -> bool {
        self.comparisons.iter().all(|c| c.pass)
            && self.locates.iter().all(|l| l.same_area && l.same_histogram)
    }

    /// Writes `results.json` and `summary.md` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        for (name, text) in [("results.json", json), ("summary.md", self.summary())] {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        Ok(())
    }

    /// The Markdown summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let g = &self.gpu;
        let _ = writeln!(
            s,
            "# endoscan gpu-check, {}\n\n{} (compute capability {}, {} SMs, {} MiB), CUDA driver {}, NVRTC {}\n",
            self.date,
            g.name,
            g.capability,
            g.multiprocessors,
            g.memory_bytes >> 20,
            self.driver,
            self.nvrtc
        );
        self.accuracy_section(&mut s);
        self.timing_section(&mut s);
        s
    }

    fn accuracy_section(&self, s: &mut String) {
        let failed: Vec<&Comparison> = self.comparisons.iter().filter(|c| !c.pass).collect();
        let exact = self
            .comparisons
            .iter()
            .filter(|c| c.mismatches == 0)
            .count();
        let worst = |output: &str| {
            self.comparisons
                .iter()
                .filter(|c| c.output == output)
                .map(|c| c.max_diff)
                .fold(0.0, f64::max)
        };
        let _ = writeln!(
            s,
            "## Against the CPU reference\n\n{} comparisons (formats × sizes × outputs), {} exact, {} outside the bound.\n\
             Largest difference: u8 {} levels, f32 {:.3e}, f16 {:.3e} (f16 against the CPU's f32).\n",
            self.comparisons.len(),
            exact,
            failed.len(),
            worst("u8"),
            worst("f32"),
            worst("f16")
        );
        for c in failed.iter().chain(
            self.comparisons
                .iter()
                .filter(|c| c.pass && c.mismatches > 0)
                .collect::<Vec<_>>()
                .iter(),
        ) {
            let _ = writeln!(
                s,
                "- {} {}x{} {}: {} of {} values differ, max {:.3e}{}",
                c.format,
                c.width,
                c.height,
                c.output,
                c.mismatches,
                c.values,
                c.max_diff,
                if c.pass { "" } else { " — FAIL" }
            );
        }
        let areas = self
            .locates
            .iter()
            .filter(|l| l.same_area && l.same_histogram)
            .count();
        let _ = writeln!(
            s,
            "\nContent area and histogram on the GPU: {areas} of {} frames identical to the CPU's.\n",
            self.locates.len()
        );
        for l in self
            .locates
            .iter()
            .filter(|l| !(l.same_area && l.same_histogram))
        {
            let _ = writeln!(
                s,
                "- {} {}x{}: area {}, histogram {} — FAIL",
                l.format,
                l.width,
                l.height,
                if l.same_area { "same" } else { "differs" },
                if l.same_histogram { "same" } else { "differs" }
            );
        }
    }

    fn timing_section(&self, s: &mut String) {
        let c = &self.copy;
        let _ = writeln!(
            s,
            "## Timings (CUDA events, median)\n\nDevice-to-device copy of {} MiB: {:.3} ms, {:.0} GB/s moved (read + write).\n\n\
             | frame | format | → | batch | kernel ms | ms/frame | GB/s | of copy | host→output ms/frame |\n|---|---|---|---:|---:|---:|---:|---:|---:|",
            c.buffer_bytes >> 20,
            c.median_ms,
            c.gbps
        );
        for t in &self.timings {
            let _ = writeln!(
                s,
                "| {}x{} | {} | {}² {} | {} | {:.4} | {:.4} | {:.0} | {:.0} % | {:.3} |",
                t.width,
                t.height,
                t.format,
                t.input_size,
                t.output,
                t.batch,
                t.kernel_ms,
                t.kernel_ms_per_frame,
                t.gbps,
                100.0 * t.fraction_of_copy,
                t.host_to_output_ms_per_frame
            );
        }
    }
}
