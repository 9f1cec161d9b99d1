//! Cuts lesion-centred patches of an `endoscan synth` still set (see
//! `endoscan::train::patches`): `cargo run --release --example lesion_patches -- SRC
//! tower|capsule OUT [CONTEXT]` (CONTEXT: patch side over lesion side, default 2.5). Used by
//! `scripts/make-demo-model`.

use std::path::PathBuf;
use std::process::ExitCode;

use endoscan::synth::Layout;
use endoscan::train::patches::{cut, PatchSettings};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (src, layout, out, context) = match &args[..] {
        [src, layout, out] => (src, layout, out, None),
        [src, layout, out, context] => (src, layout, out, Some(context)),
        _ => {
            eprintln!("usage: lesion_patches SYNTH_DIR tower|capsule OUT_DIR [CONTEXT]");
            return ExitCode::from(2);
        }
    };
    let mut settings = PatchSettings::default();
    if let Some(context) = context {
        match context.parse::<f64>() {
            Ok(c) if c >= 1.0 => settings.context = c,
            _ => {
                eprintln!("CONTEXT '{context}' must be a number ≥ 1 (patch side over lesion side)");
                return ExitCode::from(2);
            }
        }
    }
    let layout = match layout.as_str() {
        "tower" => Layout::Tower,
        "capsule" => Layout::Capsule,
        other => {
            eprintln!("unknown layout '{other}' (expected tower or capsule)");
            return ExitCode::from(2);
        }
    };
    match cut(&PathBuf::from(src), layout, &PathBuf::from(out), &settings) {
        Ok(n) => {
            println!("{n} patches in {out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
