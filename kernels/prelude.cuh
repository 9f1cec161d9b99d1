// Shared by every endoscan kernel: fixed-width types, the frame layout and pixel fetch, and
// the exact integer/float helpers whose CPU twins live in src/cuda/ and src/preprocess/.
// Compiled by NVRTC (no system headers), so only builtin types are used.

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

// How a frame's bytes encode its pixels (src/cuda/layout.rs builds it; keep the two in step).
struct FrameLayout {
    int kind;          // 0 packed (RGB, RGBx, BGRx, RGBA, ...), 1 NV12, 2 I420
    int width;
    int height;
    int bytes_per_pixel; // packed only
    int r, g, b;       // packed only: byte offsets of R, G, B within a pixel
    int stride;        // row stride of the packed or luma plane, bytes
    int chroma_stride; // NV12 UV / I420 U and V row stride, bytes
    int u_offset;      // NV12: UV plane, I420: U plane, bytes from the frame start
    int v_offset;      // I420: V plane, bytes from the frame start
    int ky, krv, kgu, kgv, kbu; // limited-range Y'CbCr -> RGB in 2^14 fixed point
};

__device__ __forceinline__ int clamp_u8(int v) { return v < 0 ? 0 : (v > 255 ? 255 : v); }

// The R, G, B bytes of pixel (x, y) of `frame` (chroma: nearest sample, no interpolation).
__device__ __forceinline__ void fetch_rgb(const u8* frame, const FrameLayout& L, int x, int y,
                                          int* r, int* g, int* b) {
    if (L.kind == 0) {
        const u8* p = frame + (long long)y * L.stride + (long long)x * L.bytes_per_pixel;
        *r = p[L.r];
        *g = p[L.g];
        *b = p[L.b];
        return;
    }
    int luma = frame[(long long)y * L.stride + x];
    int u, v;
    long long row = (long long)(y >> 1) * L.chroma_stride;
    if (L.kind == 1) {
        const u8* uv = frame + L.u_offset + row + 2 * (x >> 1);
        u = uv[0];
        v = uv[1];
    } else {
        u = frame[L.u_offset + row + (x >> 1)];
        v = frame[L.v_offset + row + (x >> 1)];
    }
    int c = L.ky * (luma - 16);
    int d = u - 128;
    int e = v - 128;
    *r = clamp_u8((c + L.krv * e + 8192) >> 14);
    *g = clamp_u8((c - L.kgu * d - L.kgv * e + 8192) >> 14);
    *b = clamp_u8((c + L.kbu * d + 8192) >> 14);
}

// IEEE binary16 bits of `f`, rounded to nearest even (as __float2half_rn), without cuda_fp16.h.
__device__ __forceinline__ u16 f32_to_f16_bits(float f) {
    u32 x = __float_as_uint(f);
    u32 sign = (x >> 16) & 0x8000u;
    u32 mag = x & 0x7fffffffu;
    if (mag >= 0x7f800000u) { // inf or nan
        return (u16)(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0u));
    }
    if (mag >= 0x477ff000u) { // rounds to >= 65520: overflow to inf
        return (u16)(sign | 0x7c00u);
    }
    if (mag < 0x38800000u) { // below the smallest normal half: subnormal or zero
        int shift = 126 - (int)(mag >> 23);
        if (shift > 24) {
            return (u16)sign;
        }
        u32 mant = (mag & 0x7fffffu) | 0x800000u;
        u32 half = mant >> shift;
        u32 rest = mant & ((1u << shift) - 1u);
        u32 midpoint = 1u << (shift - 1);
        if (rest > midpoint || (rest == midpoint && (half & 1u))) {
            half += 1u;
        }
        return (u16)(sign | half);
    }
    u32 half = ((mag - 0x38000000u) >> 13);
    u32 rest = mag & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) {
        half += 1u;
    }
    return (u16)(sign | half);
}
