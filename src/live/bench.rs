//! `endoscan bench live`: the live composition on the synthetic endoscope with a headless
//! sink, for a fixed time; prints the statistics JSON of `endoscan live --stats` plus the
//! alert latency (lesion enters the picture → alert starts) and the alert count.

use super::args::{BenchLiveArgs, Display, LiveArgs};
use super::run::{run_live, LiveConfig};

/// Runs the benchmark and prints its result.
pub fn run(args: &BenchLiveArgs) -> anyhow::Result<()> {
    let live = LiveArgs {
        source: format!("test://?fps={}&size={}", args.fps, args.size),
        model: args.model.clone(),
        backend: args.backend,
        display: Display::None,
        record: None,
        stats: None,
        seconds: Some(args.seconds),
        interval: 1,
        on: crate::smooth::DEFAULT_ON,
        off: crate::smooth::DEFAULT_OFF,
        persist_on: super::alert::DEFAULT_ON_K,
        persist_window: super::alert::DEFAULT_OF_N,
        persist_off: super::alert::DEFAULT_OFF_M,
        tone: false,
        no_mask: false,
    };
    let config = LiveConfig::from_args(&live)?;
    let report = run_live(&config, super::signals::install())?;
    let mut json = serde_json::to_value(&report.stats)?;
    json["alert_latency_ms"] = serde_json::to_value(report.alert_latency_ms)?;
    json["alerts"] = report.alerts.into();
    json["fps_target"] = args.fps.into();
    let text = serde_json::to_string_pretty(&json)?;
    if args.json {
        println!("{text}");
        return Ok(());
    }
    let s = &report.stats;
    let period_ms = 1000.0 / f64::from(args.fps);
    println!("{text}");
    println!(
        "display {:.2} fps of {:.2} captured ({:.3}×); capture→display p99 {:.1} ms = {:.2} frame periods; model p50 {:.1} ms = {:.2} frame periods",
        s.display_fps,
        s.source_fps,
        s.display_fps / s.source_fps.max(1e-9),
        s.latency_ms.p99,
        s.latency_ms.p99 / period_ms,
        s.model_ms.p50,
        s.model_ms.p50 / period_ms
    );
    Ok(())
}
