//! `endoscan study` (feature `train`): the paper's experiments on one dataset (recipe.md,
//! "Evaluation"): every variant fine-tuned globally and locally, the batch-size sweep of one
//! variant with Pearson's r (and two-sided p) of the batch size against each test metric, and
//! the union and intersection of false positives and false negatives over all models.
//!
//! Input: [`StudyArgs`]. Output in `--out`: `split.csv` (one split for every model, so test
//! sets and error sets are comparable), `runs/<name>/` (one `endoscan train` run each),
//! `results.md|csv` (the paper's table), `batch_sweep.md|csv`, `errors.md|csv`, and the plots
//! `results.svg` (test metrics per variant × mode, grouped bars) and `batch_sweep.svg` (each
//! test metric against the batch size), linked from `results.md`.
//! Runs one training at a time on the caller's thread. A run that fails (e.g. a variant that
//! does not fit the GPU) is reported and shows as "—"; the study goes on. Re-running the same
//! command skips finished runs and resumes interrupted ones.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::eval::stats::{pearson, Pearson};
use crate::model::{Normalization, Variant};
use crate::plot::{self, Frame, FONT, PALETTE};
use crate::train::args::{
    BatchChoice, DeviceChoice, Mode, Precision, Select, ThresholdRule, TrainArgs,
};
use crate::train::data::{csv, DataSettings, Dataset, DEFAULT_CLASSES, DEFAULT_POSITIVE};
use crate::train::record::{write_atomic, RunRecord};
use crate::train::schedule::{Rule, DEFAULT_IMAGES_TOTAL};
use crate::train::split::{Split, SplitSettings, SPLIT_FILE};

/// The paper's backbones.
pub const DEFAULT_VARIANTS: [&str; 5] = ["r50x1", "r101x1", "r50x3", "r101x3", "r152x4"];
/// The paper's batch-size sweep.
pub const DEFAULT_BATCHES: [usize; 6] = [32, 16, 8, 4, 2, 1];

/// Arguments of `endoscan study`.
#[derive(Debug, Clone, clap::Args)]
pub struct StudyArgs {
    /// Labelled images (as `endoscan train --data`).
    #[arg(long)]
    pub data: PathBuf,
    /// Study folder (created; re-running continues it).
    #[arg(long)]
    pub out: PathBuf,
    /// Variants to fine-tune.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_VARIANTS.map(|v| v.parse::<Variant>().expect("a known variant")))]
    pub variants: Vec<Variant>,
    /// Fine-tuning modes.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Mode::Global, Mode::Local])]
    pub modes: Vec<Mode>,
    /// Folder of Google's checkpoints named `BiT-M-R50x1.npz` etc. [default: from scratch].
    #[arg(long, value_name = "DIR")]
    pub weights_dir: Option<PathBuf>,
    /// Batch sizes of the sweep (global fine-tuning of --sweep-variant); empty: no sweep.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_BATCHES)]
    pub batches: Vec<usize>,
    /// Variant of the batch-size sweep [default: the first of --variants].
    #[arg(long)]
    pub sweep_variant: Option<Variant>,
    /// Batch of the variant × mode runs (`auto`: the largest that fits the GPU).
    #[arg(long, default_value_t = BatchChoice::Auto)]
    pub batch: BatchChoice,
    #[arg(long, value_enum, default_value_t = Rule::Paper)]
    pub rule: Rule,
    #[arg(long, default_value_t = DEFAULT_IMAGES_TOTAL)]
    pub images_total: u64,
    /// Initial learning rate, overriding the rule's.
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long, default_value_t = crate::model::metadata::DEFAULT_INPUT_SIZE)]
    pub input_size: usize,
    #[arg(long = "normalize", value_enum)]
    pub normalization: Option<Normalization>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value_t = Precision::Fp32)]
    pub precision: Precision,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    #[arg(long)]
    pub skip_bad: bool,
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_CLASSES.map(String::from))]
    pub classes: Vec<String>,
    #[arg(long, default_value = DEFAULT_POSITIVE)]
    pub positive: String,
}

/// One training of the study.
#[derive(Debug, Clone, PartialEq)]
struct Job {
    name: String,
    variant: Variant,
    mode: Mode,
    batch: BatchChoice,
    /// Part of the batch-size sweep.
    sweep: bool,
}

/// Test results of a finished run.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// accuracy, sensitivity, specificity, F1, AUC (fractions; `None` when undefined).
    metrics: [Option<f64>; 5],
    batch: usize,
    /// Test images called positive although negative, and negative although positive.
    false_positives: BTreeSet<String>,
    false_negatives: BTreeSet<String>,
}

const METRICS: [&str; 5] = ["accuracy", "sensitivity", "specificity", "f1", "auc"];
/// [`METRICS`] as the tables and plots name them.
const METRIC_LABELS: [&str; 5] = ["accuracy", "sensitivity", "specificity", "F1", "AUC"];

/// Plot of the test metrics per variant × mode (grouped bars).
pub const RESULTS_PLOT: &str = "results.svg";
/// Plot of every test metric against the batch size.
pub const SWEEP_PLOT: &str = "batch_sweep.svg";

/// Top-level entry point of `endoscan study`.
pub fn run(args: &StudyArgs) -> anyhow::Result<()> {
    let jobs = jobs(args)?;
    if !args.data.exists() {
        bail!("--data {}: no such file or folder", args.data.display());
    }
    let weights = weights_of(args)?;
    let split = shared_split(args)?;
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let run = args.out.join("runs").join(&job.name);
        println!("study: [{}/{}] {}", i + 1, jobs.len(), job.name);
        let result = train_one(args, job, &run, &split, weights.get(&job.variant))
            .and_then(|()| outcome(&run));
        match result {
            Ok(o) => {
                outcomes.insert(job.name.clone(), o);
            }
            Err(e) => eprintln!("study: {} failed: {e:#}", job.name),
        }
    }
    write_tables(args, &jobs, &outcomes)?;
    println!(
        "study: {} of {} runs finished; tables in {}",
        outcomes.len(),
        jobs.len(),
        args.out.display()
    );
    Ok(())
}

/// Variant × mode runs, then the batch-size sweep.
fn jobs(args: &StudyArgs) -> anyhow::Result<Vec<Job>> {
    if args.variants.is_empty() || args.modes.is_empty() {
        bail!("--variants and --modes need at least one value each");
    }
    if let Some(b) = args.batches.iter().find(|&&b| b == 0) {
        bail!("--batches: {b} is not a batch size");
    }
    let mut jobs = Vec::new();
    for v in &args.variants {
        for m in &args.modes {
            jobs.push(Job {
                name: format!("{v}-{}", mode_name(*m)),
                variant: *v,
                mode: *m,
                batch: args.batch,
                sweep: false,
            });
        }
    }
    let sweep_variant = args.sweep_variant.unwrap_or(args.variants[0]);
    for &b in &args.batches {
        jobs.push(Job {
            name: format!("{sweep_variant}-global-b{b}"),
            variant: sweep_variant,
            mode: Mode::Global,
            batch: BatchChoice::Fixed(b),
            sweep: true,
        });
    }
    Ok(jobs)
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Global => "global",
        Mode::Local => "local",
    }
}

/// `BiT-M-R50x1.npz` etc. in `--weights-dir`, checked before any training.
fn weights_of(args: &StudyArgs) -> anyhow::Result<HashMap<Variant, PathBuf>> {
    let Some(dir) = &args.weights_dir else {
        tracing::warn!("no --weights-dir: every model trains from scratch (the paper fine-tunes BiT-M ImageNet-21k weights)");
        return Ok(HashMap::new());
    };
    let mut found = HashMap::new();
    let mut variants: Vec<Variant> = args.variants.clone();
    variants.extend(args.sweep_variant);
    for v in variants {
        let name = v.to_string();
        let file = dir.join(format!("BiT-M-R{}.npz", &name[1..]));
        if !file.is_file() {
            bail!(
                "--weights-dir {}: no {} for {v}",
                dir.display(),
                file.display()
            );
        }
        found.insert(v, file);
    }
    Ok(found)
}

/// `OUT/split.csv`: made once (seeded) and given to every run. Creates the study folder once
/// the data has been read, so bad data leaves no folder behind.
fn shared_split(args: &StudyArgs) -> anyhow::Result<PathBuf> {
    let path = args.out.join(SPLIT_FILE);
    let create = || {
        std::fs::create_dir_all(args.out.join("runs")).with_context(|| {
            format!(
                "--out {}: cannot create the study folder",
                args.out.display()
            )
        })
    };
    if path.is_file() {
        create()?;
        return Ok(path);
    }
    let settings = DataSettings {
        classes: args.classes.clone(),
        positive: args.positive.clone(),
        skip_bad: args.skip_bad,
        threads: args.workers,
        ..DataSettings::default()
    };
    let dataset = Dataset::open(&args.data, &settings)?;
    let split = Split::stratified(
        &dataset,
        &SplitSettings {
            seed: args.seed,
            ..SplitSettings::default()
        },
    )?;
    create()?;
    split.write(&dataset, &path)?;
    Ok(path)
}

/// Trains (or resumes) one run unless it is finished.
fn train_one(
    args: &StudyArgs,
    job: &Job,
    run: &Path,
    split: &Path,
    weights: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let previous = run.join(crate::train::record::RUN_FILE).is_file();
    if previous && RunRecord::read(run)?.status == "done" {
        return Ok(());
    }
    let new = !previous;
    let train = TrainArgs {
        data: new.then(|| args.data.clone()),
        variant: new.then_some(job.variant),
        weights: weights.filter(|_| new).cloned(),
        mode: job.mode,
        out: new.then(|| run.to_path_buf()),
        batch: job.batch,
        rule: args.rule,
        images_total: args.images_total,
        lr: args.lr.filter(|_| new),
        input_size: args.input_size,
        normalization: args.normalization.filter(|_| new),
        device: args.device,
        precision: args.precision,
        seed: args.seed,
        split: new.then(|| split.to_path_buf()),
        eval_every: None,
        resume: previous.then(|| run.to_path_buf()),
        skip_bad: args.skip_bad,
        threads: args.threads,
        workers: args.workers,
        classes: args.classes.clone(),
        positive: args.positive.clone(),
        select: Select::Auc,
        threshold_rule: ThresholdRule::Youden,
        no_feature_cache: false,
        no_augment: false,
        stop_after: None,
    };
    crate::train::run::run(&train)
}

/// Test metrics and error sets of a finished run.
fn outcome(run: &Path) -> anyhow::Result<Outcome> {
    let record = RunRecord::read(run)?;
    let test = record
        .test
        .as_ref()
        .with_context(|| format!("{}: no test results", run.display()))?;
    let metrics = METRICS.map(|m| test["metrics"][m]["value"].as_f64());
    let path = run.join("test").join(crate::eval::output::PREDICTIONS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read predictions", path.display()))?;
    let table = csv::Table::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let col = |name: &str| {
        table
            .column(name)
            .with_context(|| format!("{}: no column '{name}'", path.display()))
    };
    let (p, l, pr) = (col("path")?, col("label")?, col("predicted")?);
    let positive = &record.data.positive;
    let mut o = Outcome {
        metrics,
        batch: record.plan.batch,
        false_positives: BTreeSet::new(),
        false_negatives: BTreeSet::new(),
    };
    for (_, row) in &table.rows {
        match (row[l] == *positive, row[pr] == *positive) {
            (false, true) => o.false_positives.insert(row[p].clone()),
            (true, false) => o.false_negatives.insert(row[p].clone()),
            _ => false,
        };
    }
    Ok(o)
}

/// `12.34` (percent) or `—`.
fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.2}", v * 100.0))
}

/// Writes results, batch sweep and error tables (Markdown and CSV).
fn write_tables(
    args: &StudyArgs,
    jobs: &[Job],
    outcomes: &BTreeMap<String, Outcome>,
) -> anyhow::Result<()> {
    let out = &args.out;
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))
    };

    // The paper's table: accuracy / sensitivity / specificity / F1 per variant and mode.
    let mut md = String::from(
        "# Test results (accuracy / sensitivity / specificity / F1, %)\n\n| backbone |",
    );
    let mut sep = String::from("|---|");
    for m in &args.modes {
        let _ = write!(md, " {} fine-tune |", mode_name(*m));
        sep.push_str("---|");
    }
    md = format!("{md}\n{sep}\n");
    let mut csv_text =
        String::from("run,variant,mode,batch,accuracy,sensitivity,specificity,f1,auc\n");
    for v in &args.variants {
        let _ = write!(md, "| {v} |");
        for m in &args.modes {
            let o = outcomes.get(&format!("{v}-{}", mode_name(*m)));
            let cell = o.map_or("—".into(), |o| {
                o.metrics[..4]
                    .iter()
                    .map(|&x| pct(x))
                    .collect::<Vec<_>>()
                    .join(" / ")
            });
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    for job in jobs {
        if let Some(o) = outcomes.get(&job.name) {
            let values: Vec<String> = o
                .metrics
                .iter()
                .map(|x| x.map_or(String::new(), |v| format!("{v:.6}")))
                .collect();
            let _ = writeln!(
                csv_text,
                "{},{},{},{},{}",
                job.name,
                job.variant,
                mode_name(job.mode),
                o.batch,
                values.join(",")
            );
        }
    }
    // The same numbers as grouped bars, and the sweep's plot, linked from results.md.
    let groups: Vec<(String, [Option<f64>; 4])> = args
        .variants
        .iter()
        .flat_map(|v| args.modes.iter().map(move |m| (v, m)))
        .map(|(v, m)| {
            let o = outcomes.get(&format!("{v}-{}", mode_name(*m)));
            let values = o.map_or([None; 4], |o| {
                [o.metrics[0], o.metrics[1], o.metrics[2], o.metrics[3]]
            });
            (format!("{v} {}", mode_name(*m)), values)
        })
        .collect();
    write(RESULTS_PLOT, &results_svg(&groups))?;
    let sweep: Vec<(&Job, &Outcome)> = jobs
        .iter()
        .filter(|j| j.sweep)
        .filter_map(|j| outcomes.get(&j.name).map(|o| (j, o)))
        .collect();
    let _ = write!(
        md,
        "\n![Test accuracy, sensitivity, specificity and F1 per backbone and mode]({RESULTS_PLOT})\n"
    );
    if !sweep.is_empty() {
        let _ = writeln!(
            md,
            "\n[Batch-size sweep](batch_sweep.md):\n\n![Test metrics against the batch size]({SWEEP_PLOT})"
        );
    }
    write("results.md", &md)?;
    write("results.csv", &csv_text)?;

    // Batch-size sweep and Pearson's r of batch size against every metric.
    if !sweep.is_empty() {
        let mut md = String::from("# Batch-size sweep (global fine-tuning, test set, %)\n\n| batch | accuracy | sensitivity | specificity | F1 | AUC |\n|---|---|---|---|---|---|\n");
        let mut csv_text = String::from("batch,accuracy,sensitivity,specificity,f1,auc\n");
        for (_, o) in &sweep {
            let cells: Vec<String> = o.metrics.iter().map(|&x| pct(x)).collect();
            let _ = writeln!(md, "| {} | {} |", o.batch, cells.join(" | "));
            let raw: Vec<String> = o
                .metrics
                .iter()
                .map(|x| x.map_or(String::new(), |v| format!("{v:.6}")))
                .collect();
            let _ = writeln!(csv_text, "{},{}", o.batch, raw.join(","));
        }
        md.push_str("\n| Pearson vs batch | r | p (two-sided) |\n|---|---|---|\n");
        csv_text.push_str("\nmetric,pearson_r,p_value,n\n");
        let mut correlations = [None; 5];
        for (k, name) in METRICS.iter().enumerate() {
            let pairs: Vec<(f64, f64)> = sweep
                .iter()
                .filter_map(|(_, o)| o.metrics[k].map(|m| (o.batch as f64, m)))
                .collect();
            let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            correlations[k] = pearson(&x, &y);
            match correlations[k] {
                Some(p) => {
                    let _ = writeln!(md, "| {name} | {:.4} | {:.4} |", p.r, p.p);
                    let _ = writeln!(csv_text, "{name},{:.6},{:.6},{}", p.r, p.p, p.n);
                }
                None => {
                    let _ = writeln!(md, "| {name} | — | — |");
                    let _ = writeln!(csv_text, "{name},,,{}", x.len());
                }
            }
        }
        let _ = writeln!(md, "\n![Test metrics against the batch size]({SWEEP_PLOT})");
        let points: Vec<(usize, [Option<f64>; 5])> =
            sweep.iter().map(|(_, o)| (o.batch, o.metrics)).collect();
        write("batch_sweep.md", &md)?;
        write("batch_sweep.csv", &csv_text)?;
        write(SWEEP_PLOT, &sweep_svg(&points, &correlations))?;
    }

    // Hard and easy samples: errors of any model (union) and of every model (intersection).
    let all: Vec<&Outcome> = outcomes.values().collect();
    let sets = error_sets(&all);
    let mut md = format!(
        "# Errors across {} models (test set)\n\n| set | images |\n|---|---|\n",
        all.len()
    );
    let mut csv_text = String::from("set,path\n");
    for (title, key, set) in &sets {
        let _ = writeln!(md, "| {title} | {} |", set.len());
        for p in set {
            let _ = writeln!(csv_text, "{key},{}", csv::field(p));
        }
    }
    md.push_str(
        "\nEasy samples are the test images in neither union: every model got them right.\n",
    );
    for (title, _, set) in &sets {
        let _ = write!(md, "\n## {title}\n\n");
        if set.is_empty() {
            md.push_str("(none)\n");
        }
        for p in set {
            let _ = writeln!(md, "- `{p}`");
        }
    }
    write("errors.md", &md)?;
    write("errors.csv", &csv_text)
}

/// `(title, key, images)` of the union and intersection of the false positives, then of the
/// false negatives, over `all` models (no model: all empty).
fn error_sets(all: &[&Outcome]) -> [(&'static str, &'static str, BTreeSet<String>); 4] {
    let union = |f: fn(&Outcome) -> &BTreeSet<String>| -> BTreeSet<String> {
        all.iter().flat_map(|o| f(o).iter().cloned()).collect()
    };
    let inter = |f: fn(&Outcome) -> &BTreeSet<String>| -> BTreeSet<String> {
        let mut it = all.iter().map(|o| f(o).clone());
        let first = it.next().unwrap_or_default();
        it.fold(first, |acc, s| acc.intersection(&s).cloned().collect())
    };
    [
        (
            "false positives, union (wrong for at least one model)",
            "fp_union",
            union(false_positives),
        ),
        (
            "false positives, intersection (wrong for every model: hard)",
            "fp_intersection",
            inter(false_positives),
        ),
        (
            "false negatives, union (wrong for at least one model)",
            "fn_union",
            union(false_negatives),
        ),
        (
            "false negatives, intersection (wrong for every model: hard)",
            "fn_intersection",
            inter(false_negatives),
        ),
    ]
}

fn false_positives(o: &Outcome) -> &BTreeSet<String> {
    &o.false_positives
}

fn false_negatives(o: &Outcome) -> &BTreeSet<String> {
    &o.false_negatives
}

/// A chart of test-set percentages: 0–100 % on y with grid lines, axis titles, and a legend
/// right of the plotting area.
struct PercentChart {
    svg: String,
    frame: Frame,
    /// Text attributes of tick labels.
    ticks: String,
    /// Text attributes of axis titles, group names and the legend.
    label: String,
}

impl PercentChart {
    /// A `w` × `h` chart whose plotting area leaves `right` units for the legend and `bottom`
    /// for the x labels.
    fn new(w: f64, h: f64, right: f64, bottom: f64, title: &str) -> Self {
        let frame = Frame::inside(w, h, 64.0, 24.0, right, bottom);
        let mut svg = plot::document(w, h, title);
        let ticks = format!("font-size=\"11\" {FONT}");
        let percent = plot::ticks(5, |v| format!("{:.0}", v * 100.0));
        frame.y_grid(&mut svg, &percent, &ticks);
        Self {
            svg,
            frame,
            ticks,
            label: format!("font-size=\"12\" {FONT}"),
        }
    }

    /// The axis titles, the legend and the end of the document.
    fn finish(mut self, x_title: &str, legend: &[(&str, String)]) -> String {
        let (frame, label) = (self.frame, &self.label);
        frame.axis_titles(&mut self.svg, Some(x_title), Some("test set, %"), label);
        let (x, y) = (frame.right + 20.0, frame.top + 12.0);
        plot::legend(&mut self.svg, x, y, legend, label);
        self.svg.push_str(plot::END);
        self.svg
    }
}

/// Grouped bars of accuracy, sensitivity, specificity and F1 (fractions) per `(label, values)`
/// group; a missing value has no bar, a group without any shows "—". Every bar is a
/// `<rect class="bar">` with a `<title>` naming group, metric and value.
fn results_svg(groups: &[(String, [Option<f64>; 4])]) -> String {
    const BAR: f64 = 18.0;
    const GAP: f64 = 28.0;
    let group_w = 4.0 * BAR + GAP;
    let w = (72.0 + group_w * groups.len() as f64).max(320.0) + 150.0;
    let title = "Test results per backbone and fine-tuning mode";
    let mut chart = PercentChart::new(w, 360.0, 150.0, 80.0, title);
    let (frame, label, s) = (chart.frame, chart.label.clone(), &mut chart.svg);
    let _ = write!(
        s,
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#444\"/>",
        frame.left, frame.right, frame.bottom
    );
    let start = frame.left + (frame.width() - group_w * groups.len() as f64) / 2.0;
    for (g, (name, values)) in groups.iter().enumerate() {
        let x0 = start + group_w * g as f64 + GAP / 2.0;
        for (k, value) in values.iter().enumerate() {
            let Some(v) = value else { continue };
            let top = frame.y(v.clamp(0.0, 1.0));
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{top:.1}\" width=\"{BAR}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{}: {} {:.2} %</title></rect>",
                x0 + BAR * k as f64,
                frame.bottom - top,
                PALETTE[k],
                plot::escape(name),
                METRIC_LABELS[k],
                v * 100.0
            );
        }
        let centre = x0 + 2.0 * BAR;
        if values.iter().all(Option::is_none) {
            let _ = write!(
                s,
                "<text x=\"{centre:.1}\" y=\"{:.1}\" {label} text-anchor=\"middle\">—</text>",
                frame.bottom - 8.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{centre:.1}\" y=\"{:.1}\" {label} text-anchor=\"middle\">{}</text>",
            frame.bottom + 18.0,
            plot::escape(name)
        );
    }
    let entries: Vec<(&str, String)> = (0..4)
        .map(|k| (PALETTE[k], METRIC_LABELS[k].to_string()))
        .collect();
    chart.finish("backbone and fine-tuning mode", &entries)
}

/// Each test metric (fractions) against the batch size on a log₂ axis, one line per metric
/// with a `<circle class="point">` per defined value; the legend gives Pearson's r and p.
fn sweep_svg(points: &[(usize, [Option<f64>; 5])], correlations: &[Option<Pearson>; 5]) -> String {
    let title = "Batch-size sweep: test metrics against the batch size";
    let mut chart = PercentChart::new(860.0, 380.0, 260.0, 70.0, title);
    let (frame, s) = (chart.frame, &mut chart.svg);
    let log = |b: usize| (b.max(1) as f64).log2();
    let lo = points
        .iter()
        .map(|p| log(p.0))
        .fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| log(p.0))
        .fold(f64::NEG_INFINITY, f64::max);
    let fraction = |b: usize| {
        if hi > lo {
            0.05 + 0.9 * (log(b) - lo) / (hi - lo)
        } else {
            0.5
        }
    };
    let batches: BTreeSet<usize> = points.iter().map(|p| p.0).collect();
    let x_ticks: Vec<(f64, String)> = batches
        .iter()
        .map(|&b| (fraction(b), b.to_string()))
        .collect();
    frame.x_grid(s, &x_ticks, &chart.ticks);
    frame.outline(s, "none", "#444");
    let mut entries = Vec::new();
    for k in 0..METRICS.len() {
        let mut line: Vec<(usize, f64)> = points
            .iter()
            .filter_map(|(b, m)| m[k].map(|v| (*b, v)))
            .collect();
        line.sort_by_key(|&(b, _)| b);
        let xy: Vec<(f64, f64)> = line
            .iter()
            .map(|&(b, v)| (frame.x(fraction(b)), frame.y(v.clamp(0.0, 1.0))))
            .collect();
        if xy.len() > 1 {
            s.push_str(&plot::polyline(&xy, PALETTE[k], 2.0));
        }
        for (&(b, v), (x, y)) in line.iter().zip(&xy) {
            let _ = write!(
                s,
                "<circle class=\"point\" cx=\"{x:.2}\" cy=\"{y:.2}\" r=\"4\" fill=\"{}\">\
                 <title>batch {b}: {} {:.2} %</title></circle>",
                PALETTE[k],
                METRIC_LABELS[k],
                v * 100.0
            );
        }
        let stats = correlations[k].map_or("r undefined".into(), |p| {
            format!("r = {:.2}, p = {:.3}", p.r, p.p)
        });
        entries.push((PALETTE[k], format!("{} ({stats})", METRIC_LABELS[k])));
    }
    chart.finish("batch size (log scale)", &entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(fp: &[&str], fn_: &[&str]) -> Outcome {
        Outcome {
            metrics: [None; 5],
            batch: 1,
            false_positives: fp.iter().map(|s| s.to_string()).collect(),
            false_negatives: fn_.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn error_sets_are_unions_and_intersections_over_models() {
        let a = outcome(&["n1", "n2", "n3"], &["p1"]);
        let b = outcome(&["n2", "n3"], &["p1", "p2"]);
        let c = outcome(&["n3", "n4"], &["p1"]);
        let sets = error_sets(&[&a, &b, &c]);
        let names = |i: usize| sets[i].2.iter().map(String::as_str).collect::<Vec<_>>();
        assert_eq!(
            sets.iter().map(|s| s.1).collect::<Vec<_>>(),
            ["fp_union", "fp_intersection", "fn_union", "fn_intersection"]
        );
        assert_eq!(names(0), ["n1", "n2", "n3", "n4"]);
        assert_eq!(names(1), ["n3"]);
        assert_eq!(names(2), ["p1", "p2"]);
        assert_eq!(names(3), ["p1"]);
        // One model: both are its own errors; none: nothing.
        assert_eq!(error_sets(&[&b])[1].2, b.false_positives);
        assert!(error_sets(&[]).iter().all(|s| s.2.is_empty()));
    }

    #[test]
    fn bars_stand_for_the_defined_values_only() {
        let groups = [
            (
                "r50x1 global".to_string(),
                [Some(0.5), Some(1.0), Some(0.0), None],
            ),
            ("r50x1 <local>".to_string(), [None; 4]),
        ];
        let svg = results_svg(&groups);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("class=\"bar\"").count(), 3);
        assert!(svg.contains("<title>r50x1 global: sensitivity 100.00 %</title>"));
        assert!(svg.contains("r50x1 &lt;local&gt;") && svg.contains(">—</text>"));
        // Bars start on the baseline; a 50 % bar is half as tall as a 100 % one.
        let heights: Vec<f64> = svg
            .split("class=\"bar\"")
            .skip(1)
            .map(|b| {
                let h = b.split("height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(heights[2], 0.0);
        assert!((heights[1] - 2.0 * heights[0]).abs() < 0.11, "{heights:?}");
    }

    #[test]
    fn the_sweep_plot_has_a_point_per_value_and_the_correlations() {
        let points = [
            (4, [Some(0.375), None, Some(0.25), Some(0.5), Some(0.75)]),
            (1, [Some(0.75), None, Some(0.5), Some(0.5), None]),
            (2, [Some(0.625), None, Some(0.5), Some(0.5), None]),
        ];
        // Accuracy falls linearly with the batch size: r = −1.
        let r = pearson(&[4.0, 1.0, 2.0], &[0.375, 0.75, 0.625]);
        let svg = sweep_svg(&points, &[r, None, None, None, None]);
        assert_eq!(svg.matches("class=\"point\"").count(), 10);
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("accuracy (r = -1.00, p = 0.000)"));
        assert!(svg.contains("sensitivity (r undefined)"));
        // The log axis puts batches 1, 2 and 4 evenly apart.
        for b in ["1", "2", "4"] {
            assert!(svg.contains(&format!(">{b}</text>")), "{b}");
        }
        // Vertical grid lines (x1 = x2) stand at the batches.
        let ticks: Vec<f64> = svg
            .split("<line x1=\"")
            .skip(1)
            .filter_map(|l| {
                let x1 = &l[..l.find('"').unwrap()];
                let vertical = l[x1.len()..].starts_with(&format!("\" x2=\"{x1}\""));
                vertical.then(|| x1.parse().unwrap())
            })
            .collect();
        assert_eq!(ticks.len(), 3, "{ticks:?}");
        assert!(
            ((ticks[1] - ticks[0]) - (ticks[2] - ticks[1])).abs() < 0.11,
            "{ticks:?}"
        );
    }
}
