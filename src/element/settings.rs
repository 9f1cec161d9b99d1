//! The `endoscan` element's properties: declared once here ([`properties`]), read and written
//! by name ([`Settings::set`], [`Settings::get`]), defaults from the live module's constants.

use std::path::PathBuf;

use gstreamer::glib;
use gstreamer::prelude::*;

use crate::cuda::select::PreprocessChoice;
use crate::infer::{ClassifierOptions, ExecutionProvider};
use crate::live::alert::{self, Persistence};
use crate::live::worker::WorkerSettings;
use crate::smooth;

pub const DEFAULT_INTERVAL: u32 = 1;
pub const DEFAULT_MASK_OUTSIDE_AREA: bool = true;
pub const DEFAULT_OVERLAY: bool = true;

/// What the streaming thread needs of the settings, per buffer: copied, never allocated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSettings {
    pub on: f32,
    pub mask_outside_area: bool,
    pub overlay: bool,
    pub interval: u32,
}

/// Everything the properties set; copied out of its mutex before use.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// ONNX model; `None` = the bundled demo model (`$ENDOSCAN_ROOT/models/demo.onnx`).
    pub model: Option<PathBuf>,
    pub provider: ExecutionProvider,
    pub device: i32,
    /// ONNX Runtime intra-op threads (0 = its default).
    pub threads: u32,
    /// Where frames are prepared for the model.
    pub preprocess: PreprocessChoice,
    pub on: f32,
    pub off: f32,
    pub tau_ms: f64,
    pub persistence: Persistence,
    pub mask_outside_area: bool,
    pub overlay: bool,
    pub interval: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: None,
            provider: ExecutionProvider::Cpu,
            device: 0,
            threads: 0,
            preprocess: PreprocessChoice::Auto,
            on: smooth::DEFAULT_ON,
            off: smooth::DEFAULT_OFF,
            tau_ms: alert::DEFAULT_LIVE_TAU_MS,
            persistence: Persistence::default(),
            mask_outside_area: DEFAULT_MASK_OUTSIDE_AREA,
            overlay: DEFAULT_OVERLAY,
            interval: DEFAULT_INTERVAL,
        }
    }
}

impl Settings {
    /// The per-buffer part.
    pub fn frame(&self) -> FrameSettings {
        FrameSettings {
            on: self.on,
            mask_outside_area: self.mask_outside_area,
            overlay: self.overlay,
            interval: self.interval,
        }
    }

    /// The worker's settings, with the model resolved (bundled demo model when none is set).
    pub fn worker(&self) -> anyhow::Result<WorkerSettings> {
        Ok(WorkerSettings {
            model: crate::infer::model_or_bundled(self.model.as_deref())?,
            options: ClassifierOptions {
                provider: self.provider,
                device_id: self.device,
                intra_threads: (self.threads > 0).then_some(self.threads as usize),
                shares_cpu: true,
                ..ClassifierOptions::default()
            },
            preprocess: self.preprocess,
            on: self.on,
            off: self.off,
            tau_ms: self.tau_ms,
            persistence: self.persistence,
        })
    }

    /// Sets the property `name` from `value` (types checked by GObject against [`properties`]).
    pub fn set(&mut self, name: &str, value: &glib::Value) {
        let uint = || value.get::<u32>().expect("type checked upstream");
        match name {
            "model" => {
                self.model = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
            }
            "provider" => {
                let text: String = value.get().expect("type checked upstream");
                match <ExecutionProvider as clap::ValueEnum>::from_str(&text, true) {
                    Ok(p) => self.provider = p,
                    Err(_) => tracing::error!(
                        "endoscan: provider '{text}' is not one of cpu, cuda, tensorrt, trt-rtx, torch-cuda, torch-cpu, auto; keeping {}",
                        self.provider
                    ),
                }
            }
            "preprocess" => {
                let text: String = value.get().expect("type checked upstream");
                match PreprocessChoice::parse(&text) {
                    Ok(p) => self.preprocess = p,
                    Err(e) => tracing::error!("endoscan: {e}; keeping {}", self.preprocess.name()),
                }
            }
            "device" => self.device = value.get().expect("type checked upstream"),
            "threads" => self.threads = uint(),
            "on" => self.on = value.get().expect("type checked upstream"),
            "off" => self.off = value.get().expect("type checked upstream"),
            "smoothing-ms" => self.tau_ms = value.get().expect("type checked upstream"),
            "persist-on" => self.persistence.on_k = uint() as usize,
            "persist-window" => self.persistence.of_n = uint() as usize,
            "persist-off" => self.persistence.off_m = uint() as usize,
            "mask-outside-area" => {
                self.mask_outside_area = value.get().expect("type checked upstream")
            }
            "overlay" => self.overlay = value.get().expect("type checked upstream"),
            "interval" => self.interval = uint(),
            _ => unreachable!("GObject only passes declared properties"),
        }
    }

    /// The property `name`'s value.
    pub fn get(&self, name: &str) -> glib::Value {
        match name {
            "model" => self
                .model
                .as_ref()
                .map(|p| p.display().to_string())
                .to_value(),
            "provider" => self.provider.to_string().to_value(),
            "preprocess" => self.preprocess.name().to_value(),
            "device" => self.device.to_value(),
            "threads" => self.threads.to_value(),
            "on" => self.on.to_value(),
            "off" => self.off.to_value(),
            "smoothing-ms" => self.tau_ms.to_value(),
            "persist-on" => (self.persistence.on_k as u32).to_value(),
            "persist-window" => (self.persistence.of_n as u32).to_value(),
            "persist-off" => (self.persistence.off_m as u32).to_value(),
            "mask-outside-area" => self.mask_outside_area.to_value(),
            "overlay" => self.overlay.to_value(),
            "interval" => self.interval.to_value(),
            _ => unreachable!("GObject only asks for declared properties"),
        }
    }
}

/// The element's properties, with ranges and defaults.
pub fn properties() -> Vec<glib::ParamSpec> {
    let d = Settings::default();
    let uint = |name: &str, blurb: &str, min: u32, max: u32, default: u32| {
        glib::ParamSpecUInt::builder(name)
            .blurb(blurb)
            .minimum(min)
            .maximum(max)
            .default_value(default)
            .mutable_ready()
            .build()
    };
    let float = |name: &str, blurb: &str, default: f32| {
        glib::ParamSpecFloat::builder(name)
            .blurb(blurb)
            .minimum(0.0)
            .maximum(1.0)
            .default_value(default)
            .mutable_ready()
            .build()
    };
    let flag = |name: &str, blurb: &str, default: bool| {
        glib::ParamSpecBoolean::builder(name)
            .blurb(blurb)
            .default_value(default)
            .mutable_playing()
            .build()
    };
    vec![
        glib::ParamSpecString::builder("model")
            .blurb("ONNX model made by `endoscan export` (default: the bundled demo model under $ENDOSCAN_ROOT)")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("provider")
            .blurb("Where the model runs: cpu, cuda, tensorrt, trt-rtx (ONNX Runtime), torch-cuda, torch-cpu (libtorch, in builds with the train feature) or auto (the fastest available)")
            .default_value(Some("cpu"))
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("preprocess")
            .blurb("Where frames are prepared: auto (the GPU when usable), cpu or cuda")
            .default_value(Some("auto"))
            .mutable_ready()
            .build(),
        glib::ParamSpecInt::builder("device")
            .blurb("GPU index for cuda / tensorrt")
            .minimum(0)
            .default_value(d.device)
            .mutable_ready()
            .build(),
        uint("threads", "ONNX Runtime intra-op threads (0: one per core)", 0, 256, d.threads),
        float("on", "Smoothed score at which an alert may start", d.on),
        float("off", "Smoothed score below which an alert may end", d.off),
        glib::ParamSpecDouble::builder("smoothing-ms")
            .blurb("Time constant of the causal smoothing of scores, in ms (0: none)")
            .minimum(0.0)
            .maximum(10_000.0)
            .default_value(d.tau_ms)
            .mutable_ready()
            .build(),
        uint("persist-on", "Alert on after this many of the last persist-window inferred frames were ≥ on", 1, 1000, d.persistence.on_k as u32),
        uint("persist-window", "Inferred frames the persist-on count looks back over", 1, 1000, d.persistence.of_n as u32),
        uint("persist-off", "Alert off after this many inferred frames in a row below off", 1, 1000, d.persistence.off_m as u32),
        flag("mask-outside-area", "Black out everything outside the endoscopic image area (the patient-data panel); the whole frame until an area is trusted", d.mask_outside_area),
        flag("overlay", "Draw the alert border, score gauge and AI status", d.overlay),
        uint("interval", "Offer every Nth frame to the model (1: every frame; stale frames are skipped anyway)", 1, 1000, d.interval),
    ]
}
