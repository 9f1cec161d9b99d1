//! `endoscan-torch-check --out DIR`: the libtorch scorer on the machine's GPU 0 against its
//! CPU reference, and its latency per batch size (see `endoscan::infer::torch_check`). Needs
//! libtorch (CUDA build) only: no GStreamer, no ONNX Runtime.

fn main() -> std::process::ExitCode {
    endoscan::infer::torch_check::main()
}
