//! Content-area detection on the GPU: `kernels/cell_stats.cu` computes the per-cell counts,
//! the brightness histogram and the grown cells' row spans on the device; only those small
//! arrays come back, and [`detect_from_counts`] does the cell-grid logic on the CPU.

use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::device::Device;
use super::layout::FrameLayoutArg;
use super::CudaError;
use crate::preprocess::area_stats::{decode_row_spans, detect_from_counts, CellCounts};
use crate::preprocess::input_format::InputLayout;
use crate::preprocess::{AreaSettings, ContentArea};

/// What the statistics kernels found in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuArea {
    pub area: Option<ContentArea>,
    /// Brightness histogram (for [`crate::preprocess::Screening::from_histogram`]).
    pub histogram: [u64; 256],
}

fn grid(cols: usize, height: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((cols as u32).div_ceil(32), (height as u32).div_ceil(8), 1),
        block_dim: (32, 8, 1),
        shared_mem_bytes: 0,
    }
}

impl Device {
    /// Detects the image area of the frame in slot 0 (uploaded by `upload_frames`).
    pub(super) fn locate_slot0(
        &mut self,
        layout: &InputLayout,
        settings: &AreaSettings,
    ) -> Result<GpuArea, CudaError> {
        let frame = self.frame_pointers(1)[0];
        let arg = FrameLayoutArg::new(layout)?;
        let cell = settings.cell.max(1);
        let (cols, rows) = (layout.width.div_ceil(cell), layout.height.div_ceil(cell));
        let s = self.stream.clone();
        let black = i32::from(settings.black_level);
        let (cell_i, cols_i) = (cell as i32, cols as i32);
        let mut bright = s.alloc_zeros::<u32>(cols * rows)?;
        let mut hist = s.alloc_zeros::<u32>(256)?;
        let mut launch = s.launch_builder(&self.functions.cell_counts);
        launch
            .arg(&frame)
            .arg(&arg)
            .arg(&black)
            .arg(&cell_i)
            .arg(&cols_i);
        launch.arg(&mut bright).arg(&mut hist);
        // SAFETY: arguments in cell_counts' order and types; buffers sized for the grid.
        unsafe { launch.launch(grid(cols, layout.height)) }?;
        let counts = CellCounts {
            width: layout.width,
            height: layout.height,
            cell,
            cols,
            rows,
            bright: s.clone_dtoh(&bright)?,
        };
        let mut histogram = [0u64; 256];
        for (h, v) in histogram.iter_mut().zip(s.clone_dtoh(&hist)?) {
            *h = u64::from(v);
        }
        let mut failure = None;
        let area = detect_from_counts(&counts, settings, |grown| {
            let spans = (|| -> Result<_, CudaError> {
                let allowed: Vec<u8> = grown.iter().map(|&g| u8::from(g)).collect();
                let allowed = s.clone_htod(&allowed)?;
                let mut first = s.alloc_zeros::<u32>(layout.height)?;
                let mut last = s.alloc_zeros::<u32>(layout.height)?;
                let mut launch = s.launch_builder(&self.functions.row_spans);
                launch
                    .arg(&frame)
                    .arg(&arg)
                    .arg(&black)
                    .arg(&cell_i)
                    .arg(&cols_i);
                launch.arg(&allowed).arg(&mut first).arg(&mut last);
                // SAFETY: arguments in row_spans' order and types; buffers sized as above.
                unsafe { launch.launch(grid(cols, layout.height)) }?;
                Ok(decode_row_spans(
                    layout.width,
                    &s.clone_dtoh(&first)?,
                    &s.clone_dtoh(&last)?,
                ))
            })();
            spans.unwrap_or_else(|e| {
                failure = Some(e);
                Vec::new()
            })
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(GpuArea { area, histogram }),
        }
    }
}
