//! The study's tables: `results.md|csv`, `batch_sweep.md|csv` and the false-positive and
//! false-negative sets across models (`errors.md|csv`).

use super::charts::{results_svg, sweep_svg};
use super::*;

pub(super) fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.2}", v * 100.0))
}

/// Writes results, batch sweep and error tables (Markdown and CSV).
pub(super) fn write_tables(
    args: &StudyArgs,
    jobs: &[Job],
    outcomes: &BTreeMap<String, Outcome>,
) -> anyhow::Result<()> {
    let out = &args.out;
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        atomic::write(&path, text.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))
    };
    let sweep: Vec<(&Job, &Outcome)> = jobs
        .iter()
        .filter(|j| j.sweep)
        .filter_map(|j| outcomes.get(&j.name).map(|o| (j, o)))
        .collect();
    // The same numbers as grouped bars, and the sweep's plot, linked from results.md.
    write(RESULTS_PLOT, &results_svg(&result_groups(args, outcomes)))?;
    let (md, csv_text) = results_tables(args, jobs, outcomes, !sweep.is_empty());
    write("results.md", &md)?;
    write("results.csv", &csv_text)?;
    if !sweep.is_empty() {
        let (md, csv_text, correlations) = sweep_tables(&sweep);
        let points: Vec<(usize, [Option<f64>; 5])> =
            sweep.iter().map(|(_, o)| (o.batch, o.metrics)).collect();
        write("batch_sweep.md", &md)?;
        write("batch_sweep.csv", &csv_text)?;
        write(SWEEP_PLOT, &sweep_svg(&points, &correlations))?;
    }
    let (md, csv_text) = error_tables(outcomes);
    write("errors.md", &md)?;
    write("errors.csv", &csv_text)
}

/// `results.md` (the paper's table: accuracy / sensitivity / specificity / F1 per variant and
/// mode, linking the plots) and `results.csv` (every metric of every run).
fn results_tables(
    args: &StudyArgs,
    jobs: &[Job],
    outcomes: &BTreeMap<String, Outcome>,
    has_sweep: bool,
) -> (String, String) {
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
            let _ = writeln!(
                csv_text,
                "{},{},{},{},{}",
                job.name,
                job.variant,
                mode_name(job.mode),
                o.batch,
                raw(&o.metrics).join(",")
            );
        }
    }
    let _ = write!(
        md,
        "\n![Test accuracy, sensitivity, specificity and F1 per backbone and mode]({RESULTS_PLOT})\n"
    );
    if has_sweep {
        let _ = writeln!(
            md,
            "\n[Batch-size sweep](batch_sweep.md):\n\n![Test metrics against the batch size]({SWEEP_PLOT})"
        );
    }
    (md, csv_text)
}

/// Metrics as written to the CSV files (6 decimals, empty when undefined).
fn raw(metrics: &[Option<f64>]) -> Vec<String> {
    metrics
        .iter()
        .map(|x| x.map_or(String::new(), |v| format!("{v:.6}")))
        .collect()
}

/// `(label, [accuracy, sensitivity, specificity, F1])` per variant and mode, for the results
/// plot.
fn result_groups(
    args: &StudyArgs,
    outcomes: &BTreeMap<String, Outcome>,
) -> Vec<(String, [Option<f64>; 4])> {
    args.variants
        .iter()
        .flat_map(|v| args.modes.iter().map(move |m| (v, m)))
        .map(|(v, m)| {
            let o = outcomes.get(&format!("{v}-{}", mode_name(*m)));
            let values = o.map_or([None; 4], |o| {
                [o.metrics[0], o.metrics[1], o.metrics[2], o.metrics[3]]
            });
            (format!("{v} {}", mode_name(*m)), values)
        })
        .collect()
}

/// `batch_sweep.md` and `batch_sweep.csv`: the sweep's metrics and Pearson's r of batch size
/// against every metric (also returned, for the plot).
fn sweep_tables(sweep: &[(&Job, &Outcome)]) -> (String, String, [Option<Pearson>; 5]) {
    let mut md = String::from("# Batch-size sweep (global fine-tuning, test set, %)\n\n| batch | accuracy | sensitivity | specificity | F1 | AUC |\n|---|---|---|---|---|---|\n");
    let mut csv_text = String::from("batch,accuracy,sensitivity,specificity,f1,auc\n");
    for (_, o) in sweep {
        let cells: Vec<String> = o.metrics.iter().map(|&x| pct(x)).collect();
        let _ = writeln!(md, "| {} | {} |", o.batch, cells.join(" | "));
        let _ = writeln!(csv_text, "{},{}", o.batch, raw(&o.metrics).join(","));
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
    (md, csv_text, correlations)
}

/// `errors.md` and `errors.csv`: hard and easy samples, the errors of any model (union) and of
/// every model (intersection).
fn error_tables(outcomes: &BTreeMap<String, Outcome>) -> (String, String) {
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
    (md, csv_text)
}

/// `(title, key, images)` of the union and intersection of the false positives, then of the
/// false negatives, over `all` models (no model: all empty).
pub(super) fn error_sets(all: &[&Outcome]) -> [(&'static str, &'static str, BTreeSet<String>); 4] {
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

pub(super) fn false_positives(o: &Outcome) -> &BTreeSet<String> {
    &o.false_positives
}

pub(super) fn false_negatives(o: &Outcome) -> &BTreeSet<String> {
    &o.false_negatives
}
