//! `endoscan-gpu-check --out DIR`: the CUDA preprocessing against its CPU reference, and its
//! timings, on the machine's GPU 0 (see `endoscan::cuda::check`). Needs the NVIDIA driver and
//! NVRTC only: no GStreamer, no ONNX Runtime.

fn main() -> std::process::ExitCode {
    endoscan::cuda::check::main()
}
