// Content-area statistics on the GPU, so a full frame never comes back to the host. The area
// logic (src/preprocess/area.rs) stays on the CPU on the small cell grid, in two steps:
//   1. cell_counts: bright pixels (max(R, G, B) > black_level) per cell, and the frame's
//      brightness histogram (for src/preprocess/screen.rs);
//   2. the CPU finds the largest group of on cells and grows it (a mask of cells), then
//      row_spans: per row, the leftmost and rightmost bright pixel inside allowed cells.
// One thread per (pixel row, cell column) in both kernels.

__device__ __forceinline__ int brightness(const u8* frame, const FrameLayout& L, int x, int y) {
    int r, g, b;
    fetch_rgb(frame, L, x, y, &r, &g, &b);
    return max(r, max(g, b));
}

// `bright` (cols x rows cells) and `histogram` (256 bins) must be zero before the launch.
extern "C" __global__ void cell_counts(const u8* frame, FrameLayout L, int black_level,
                                       int cell, int cols, u32* bright, u32* histogram) {
    __shared__ u32 local[256];
    int lane = threadIdx.y * blockDim.x + threadIdx.x;
    for (int i = lane; i < 256; i += blockDim.x * blockDim.y) {
        local[i] = 0u;
    }
    __syncthreads();
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (col < cols && y < L.height) {
        int x_end = min((col + 1) * cell, L.width);
        u32 count = 0u;
        for (int x = col * cell; x < x_end; ++x) {
            int v = brightness(frame, L, x, y);
            count += v > black_level ? 1u : 0u;
            atomicAdd(&local[v], 1u);
        }
        if (count != 0u) {
            atomicAdd(&bright[(y / cell) * cols + col], count);
        }
    }
    __syncthreads();
    for (int i = lane; i < 256; i += blockDim.x * blockDim.y) {
        if (local[i] != 0u) {
            atomicAdd(&histogram[i], local[i]);
        }
    }
}

// `allowed`: one byte per cell (nonzero = in the grown group). Writes per row
// `first[y] = width - x_first` and `last[y] = x_last + 1` (both 0 when the row has no bright
// pixel in an allowed cell); both must be zero before the launch.
extern "C" __global__ void row_spans(const u8* frame, FrameLayout L, int black_level, int cell,
                                     int cols, const u8* allowed, u32* first, u32* last) {
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (col >= cols || y >= L.height || !allowed[(y / cell) * cols + col]) {
        return;
    }
    int x_end = min((col + 1) * cell, L.width);
    int lo = -1, hi = -1;
    for (int x = col * cell; x < x_end; ++x) {
        if (brightness(frame, L, x, y) > black_level) {
            lo = lo < 0 ? x : lo;
            hi = x;
        }
    }
    if (lo >= 0) {
        atomicMax(&first[y], (u32)(L.width - lo));
        atomicMax(&last[y], (u32)(hi + 1));
    }
}
