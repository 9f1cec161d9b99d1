// Fused crop -> masked antialiased resize -> model input, a whole batch per launch: one
// thread per output pixel (x, y) of frame blockIdx.z. The arithmetic is exactly that of
// src/preprocess/resize.rs, so results equal the CPU reference byte for byte:
//   horizontal  t = (sum_k wx_k * p_k + 2^6) >> 7    (pixels outside the row's span read 0)
//   vertical    v = min((sum_k wy_k * t_k + 2^20) >> 21, 255)
// with the 14-bit weight tables of ResizeTable::triangle (padded with zero weights to
// `taps_x` / `taps_y` per output sample). Normalized outputs are v * scale + offset in f32
// (one rounded multiply, one rounded add: no fused multiply-add), stored NCHW.

struct Resize {
    int crop_x, crop_y; // frame pixel of the crop's top-left corner
    int size;           // side S of the square output
    int taps_x, taps_y; // weights per output sample in the tables
};

// The three u8 channels of output pixel (ox, oy) of `frame`.
__device__ __forceinline__ void resized_pixel(const u8* frame, const FrameLayout& L,
                                              const Resize& R, const int* spans,
                                              const int* x_first, const int* x_weights,
                                              const int* y_first, const int* y_weights,
                                              int ox, int oy, u32 out[3]) {
    u32 v0 = 1u << 20, v1 = 1u << 20, v2 = 1u << 20;
    int fy = y_first[oy];
    int fx = x_first[ox];
    for (int k = 0; k < R.taps_y; ++k) {
        u32 wy = (u32)y_weights[oy * R.taps_y + k];
        if (wy == 0u) {
            continue;
        }
        int crop_row = fy + k;
        int y = R.crop_y + crop_row;
        int span_start = spans[2 * crop_row];
        int span_end = spans[2 * crop_row + 1];
        u32 h0 = 0u, h1 = 0u, h2 = 0u;
        for (int j = 0; j < R.taps_x; ++j) {
            u32 wx = (u32)x_weights[ox * R.taps_x + j];
            int x = R.crop_x + fx + j;
            if (wx == 0u || x < span_start || x >= span_end) {
                continue;
            }
            int r, g, b;
            fetch_rgb(frame, L, x, y, &r, &g, &b);
            h0 += wx * (u32)r;
            h1 += wx * (u32)g;
            h2 += wx * (u32)b;
        }
        v0 += wy * ((h0 + 64u) >> 7);
        v1 += wy * ((h1 + 64u) >> 7);
        v2 += wy * ((h2 + 64u) >> 7);
    }
    out[0] = min(v0 >> 21, 255u);
    out[1] = min(v1 >> 21, 255u);
    out[2] = min(v2 >> 21, 255u);
}

#define PREPARE_PARAMS                                                                     \
    const unsigned long long *frames, FrameLayout L, const int *spans, const int *x_first, \
        const int *x_weights, const int *y_first, const int *y_weights, Resize R

#define PREPARE_PIXEL                                                                      \
    int ox = blockIdx.x * blockDim.x + threadIdx.x;                                        \
    int oy = blockIdx.y * blockDim.y + threadIdx.y;                                        \
    int n = blockIdx.z;                                                                    \
    if (ox >= R.size || oy >= R.size) {                                                    \
        return;                                                                            \
    }                                                                                      \
    u32 px[3];                                                                             \
    resized_pixel((const u8*)frames[n], L, R, spans, x_first, x_weights, y_first,          \
                  y_weights, ox, oy, px);                                                  \
    long long plane = (long long)R.size * R.size;                                          \
    long long at = (long long)oy * R.size + ox;

// Packed RGB u8, N x S x S x 3: the CPU reference's image before normalization.
extern "C" __global__ void prepare_u8(PREPARE_PARAMS, u8* out) {
    PREPARE_PIXEL
    u8* o = out + 3 * (n * plane + at);
    o[0] = (u8)px[0];
    o[1] = (u8)px[1];
    o[2] = (u8)px[2];
}

// Normalized f32 NCHW, N x 3 x S x S.
extern "C" __global__ void prepare_f32(PREPARE_PARAMS, float scale, float offset, float* out) {
    PREPARE_PIXEL
    float* o = out + 3 * n * plane + at;
    for (int c = 0; c < 3; ++c) {
        o[c * plane] = __fadd_rn(__fmul_rn((float)px[c], scale), offset);
    }
}

// Normalized f16 NCHW (IEEE binary16 bits), N x 3 x S x S: the f32 value rounded to nearest.
extern "C" __global__ void prepare_f16(PREPARE_PARAMS, float scale, float offset, u16* out) {
    PREPARE_PIXEL
    u16* o = out + 3 * n * plane + at;
    for (int c = 0; c < 3; ++c) {
        o[c * plane] = f32_to_f16_bits(__fadd_rn(__fmul_rn((float)px[c], scale), offset));
    }
}
