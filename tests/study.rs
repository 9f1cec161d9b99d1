//! `endoscan study` end to end on the CPU with a tiny variant: the tables and plots agree with
//! what every run wrote (each run's test predictions are the ground truth here: the metrics,
//! Pearson's r and p, and the error sets are recomputed from them in this file), re-running
//! trains nothing and rewrites the same bytes, and bad arguments are refused by name.
#![cfg(feature = "train")]

#[path = "common/cli.rs"]
mod cli;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use std::time::Instant;

use cli::{endoscan, ok, show, strs, Scratch};

const POSITIVE: &str = "cancer";
const VARIANT: &str = "r14x0.5";
/// The sweep's batch sizes: three, so that Pearson's t has one degree of freedom and its
/// two-sided p has the closed form of the Cauchy distribution, `1 − 2·atan(|t|)/π`.
const BATCHES: [usize; 3] = [4, 2, 1];
const METRICS: [&str; 5] = ["accuracy", "sensitivity", "specificity", "f1", "auc"];

fn scratch(name: &str) -> Scratch {
    cli::scratch("study", name)
}

/// Runs `endoscan` expecting a failure without a panic; returns stderr.
fn fails(args: &[&str]) -> String {
    let out = endoscan(args);
    assert!(!out.status.success(), "succeeded: {}", show(args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// `endoscan synth` stills in `dir`, half of them positive.
fn synth(dir: &Path, images: usize, seed: u64) {
    ok(&[
        "synth",
        "--out",
        dir.to_str().unwrap(),
        "--images",
        &images.to_string(),
        "--layout",
        "capsule",
        "--size",
        "256x256",
        "--seed",
        &seed.to_string(),
        "--positive-fraction",
        "0.5",
    ]);
}

/// The tiny study: one variant, both modes, the sweep over [`BATCHES`].
fn study_args(data: &Path, out: &Path) -> Vec<String> {
    let batches: Vec<String> = BATCHES.iter().map(usize::to_string).collect();
    [
        "study",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--variants",
        VARIANT,
        "--modes",
        "global,local",
        "--batches",
        &batches.join(","),
        "--batch",
        "4",
        "--input-size",
        "32",
        "--images-total",
        "32",
        "--lr",
        "0.01",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--seed",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

/// Fields of one CSV line (RFC 4180 quotes).
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

/// A CSV file as rows of `column → value`.
fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    csv_rows(&text)
}

fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header = fields(lines.next().expect("a header"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f = fields(l);
            assert_eq!(f.len(), header.len(), "{l}");
            header.iter().cloned().zip(f).collect()
        })
        .collect()
}

/// What the test recomputes from one run's `test/predictions.csv`.
#[derive(Debug)]
struct Truth {
    /// accuracy, sensitivity, specificity, F1, AUC; `None` where undefined.
    metrics: [Option<f64>; 5],
    false_positives: BTreeSet<String>,
    false_negatives: BTreeSet<String>,
}

fn truth(run: &Path) -> Truth {
    let rows = read_csv(&run.join("test").join("predictions.csv"));
    assert!(!rows.is_empty(), "{}: no test predictions", run.display());
    let (mut tp, mut fp, mut tn, mut fn_) = (0.0, 0.0, 0.0, 0.0);
    let mut t = Truth {
        metrics: [None; 5],
        false_positives: BTreeSet::new(),
        false_negatives: BTreeSet::new(),
    };
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    for r in &rows {
        let (actual, called) = (r["label"] == POSITIVE, r["predicted"] == POSITIVE);
        let p: f64 = r["probability"].parse().unwrap();
        match (actual, called) {
            (true, true) => tp += 1.0,
            (false, false) => tn += 1.0,
            (false, true) => {
                fp += 1.0;
                t.false_positives.insert(r["path"].clone());
            }
            (true, false) => {
                fn_ += 1.0;
                t.false_negatives.insert(r["path"].clone());
            }
        }
        if actual { &mut pos } else { &mut neg }.push(p);
    }
    let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
    // AUC as the Mann–Whitney probability that a positive outscores a negative (ties: ½).
    let auc = (!pos.is_empty() && !neg.is_empty()).then(|| {
        let wins: f64 = pos
            .iter()
            .flat_map(|p| neg.iter().map(move |n| (p, n)))
            .map(|(p, n)| match p.partial_cmp(n).unwrap() {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            })
            .sum();
        wins / (pos.len() * neg.len()) as f64
    });
    t.metrics = [
        ratio(tp + tn, tp + tn + fp + fn_),
        ratio(tp, tp + fn_),
        ratio(tn, tn + fp),
        ratio(2.0 * tp, 2.0 * tp + fp + fn_),
        auc,
    ];
    t
}

/// Pearson's r, written out; `None` when a sample is constant.
fn pearson_r(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    (sxx > 0.0 && syy > 1e-12).then(|| sxy / (sxx * syy).sqrt())
}

/// A value of a table: a fraction with 6 decimals, or empty when undefined.
fn value(cell: &str) -> Option<f64> {
    (!cell.is_empty()).then(|| cell.parse().unwrap())
}

fn assert_close(table: Option<f64>, expected: Option<f64>, what: &str) {
    match (table, expected) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 2e-6, "{what}: table {a}, expected {b}"),
        (a, b) => assert_eq!(a, b, "{what}"),
    }
}

/// `12.34` percent, as the Markdown tables show fractions.
fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.2}", v * 100.0))
}

/// Every `<tag>` of an SVG opens and closes in order, `&` only starts an entity, and the
/// document is one `<svg>` element.
fn assert_well_formed(svg: &str, name: &str) {
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{name}"
    );
    assert!(svg.trim_end().ends_with("</svg>"), "{name}");
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(at) = rest.find('<') {
        let end = rest[at..]
            .find('>')
            .unwrap_or_else(|| panic!("{name}: unclosed tag"))
            + at;
        let tag = &rest[at + 1..end];
        assert!(!tag.contains('<'), "{name}: '<' inside a tag: {tag}");
        let tag_name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap();
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(closing.trim()), "{name}: </{closing}>");
        } else if !tag.ends_with('/') {
            open.push(tag_name);
        }
        if open.is_empty() {
            assert!(
                rest[end + 1..].trim().is_empty(),
                "{name}: text after </svg>"
            );
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "{name}: unclosed {open:?}");
    for (i, _) in svg.match_indices('&') {
        let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"];
        assert!(
            entity.iter().any(|e| svg[i..].starts_with(e)),
            "{name}: bare '&' at {i}"
        );
    }
}

/// Text of every `<title>` inside elements of `class`.
fn titles(svg: &str, class: &str) -> Vec<String> {
    svg.split(&format!("class=\"{class}\""))
        .skip(1)
        .map(|s| {
            let t = &s[s.find("<title>").unwrap() + 7..];
            t[..t.find("</title>").unwrap()].to_string()
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn study_tables_and_plots_agree_with_every_run_and_a_rerun_changes_nothing() {
    let dir = scratch("study");
    let (data, out) = (dir.join("data"), dir.join("study"));
    synth(&data, 60, 3);
    let args = study_args(&data, &out);
    let started = Instant::now();
    let first = ok(&strs(&args));
    let first_s = started.elapsed().as_secs_f64();
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("5 of 5 runs finished"),
        "{}",
        show(&strs(&args), &first)
    );

    // Runs: variant × mode, then the sweep.
    let names = [
        format!("{VARIANT}-global"),
        format!("{VARIANT}-local"),
        format!("{VARIANT}-global-b4"),
        format!("{VARIANT}-global-b2"),
        format!("{VARIANT}-global-b1"),
    ];
    let runs: BTreeMap<&str, Truth> = names
        .iter()
        .map(|n| (n.as_str(), truth(&out.join("runs").join(n))))
        .collect();
    let run_json = |name: &str| -> serde_json::Value {
        serde_json::from_str(&read(&out.join("runs").join(name).join("run.json"))).unwrap()
    };
    for n in &names {
        assert_eq!(run_json(n)["status"], "done", "{n}");
    }

    // results.csv: one row per run, the metrics of its test predictions.
    let text = read(&out.join("results.csv"));
    assert!(text.starts_with("run,variant,mode,batch,accuracy,sensitivity,specificity,f1,auc\n"));
    let results = csv_rows(&text);
    let listed: Vec<&str> = results.iter().map(|r| r["run"].as_str()).collect();
    assert_eq!(listed, names.iter().map(String::as_str).collect::<Vec<_>>());
    for row in &results {
        let name = row["run"].as_str();
        assert_eq!(row["variant"], VARIANT);
        let mode = if name.contains("local") {
            "local"
        } else {
            "global"
        };
        assert_eq!(row["mode"], mode, "{name}");
        let batch: usize = row["batch"].parse().unwrap();
        assert_eq!(
            batch as u64,
            run_json(name)["plan"]["batch"].as_u64().unwrap()
        );
        if let Some(b) = name.split("-b").nth(1) {
            assert_eq!(batch, b.parse::<usize>().unwrap(), "{name}");
        } else {
            assert_eq!(batch, 4, "{name}: --batch 4");
        }
        for (k, m) in METRICS.iter().enumerate() {
            assert_close(
                value(&row[*m]),
                runs[name].metrics[k],
                &format!("{name} {m}"),
            );
        }
    }

    // results.md: the paper's shape, one row per variant with a global and a local column.
    let md = read(&out.join("results.md"));
    assert!(
        md.contains("| backbone | global fine-tune | local fine-tune |\n|---|---|---|\n"),
        "{md}"
    );
    let cell = |name: &str| {
        runs[name].metrics[..4]
            .iter()
            .map(|&v| pct(v))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let row = format!(
        "| {VARIANT} | {} | {} |\n",
        cell(&names[0]),
        cell(&names[1])
    );
    assert!(md.contains(&row), "expected {row:?} in\n{md}");
    assert_eq!(md.matches(&format!("| {VARIANT} |")).count(), 1, "{md}");

    // batch_sweep.csv: a row per batch, then r and p per metric, recomputed here.
    let sweep = read(&out.join("batch_sweep.csv"));
    let (rows, stats) = sweep.split_once("\n\n").expect("two sections");
    let rows = csv_rows(rows);
    let batches: Vec<usize> = rows.iter().map(|r| r["batch"].parse().unwrap()).collect();
    assert_eq!(batches, BATCHES);
    for (row, name) in rows.iter().zip(&names[2..]) {
        for (k, m) in METRICS.iter().enumerate() {
            assert_close(value(&row[*m]), runs[name.as_str()].metrics[k], m);
        }
    }
    let stats = csv_rows(stats);
    assert_eq!(
        stats
            .iter()
            .map(|r| r["metric"].as_str())
            .collect::<Vec<_>>(),
        METRICS
    );
    let mut defined = 0;
    for (k, row) in stats.iter().enumerate() {
        let (x, y): (Vec<f64>, Vec<f64>) = BATCHES
            .iter()
            .zip(&names[2..])
            .filter_map(|(&b, n)| runs[n.as_str()].metrics[k].map(|v| (b as f64, v)))
            .unzip();
        let m = &row["metric"];
        assert_eq!(row["n"], x.len().to_string(), "{m}");
        let r = (x.len() == 3).then(|| pearson_r(&x, &y)).flatten();
        let (table_r, table_p) = (value(&row["pearson_r"]), value(&row["p_value"]));
        match r {
            Some(r) => {
                defined += 1;
                let (tr, tp) = (table_r.unwrap(), table_p.unwrap());
                assert!(
                    (-1.0..=1.0).contains(&tr) && (0.0..=1.0).contains(&tp),
                    "{m}"
                );
                assert!((tr - r).abs() < 2e-6, "{m}: r {tr}, recomputed {r}");
                let t = r / (1.0 - r * r).sqrt();
                let p = 1.0 - 2.0 * t.abs().atan() / std::f64::consts::PI;
                assert!((tp - p).abs() < 2e-6, "{m}: p {tp}, recomputed {p}");
            }
            None => assert_eq!((table_r, table_p), (None, None), "{m}"),
        }
    }
    assert!(
        defined > 0,
        "every metric was constant over the sweep:\n{sweep}"
    );

    // errors.csv: union and intersection over all five runs of their test errors.
    let all: Vec<&Truth> = runs.values().collect();
    let union = |set: fn(&Truth) -> &BTreeSet<String>| -> BTreeSet<String> {
        all.iter().flat_map(|t| set(t).iter().cloned()).collect()
    };
    let intersection = |set: fn(&Truth) -> &BTreeSet<String>| -> BTreeSet<String> {
        union(set)
            .into_iter()
            .filter(|p| all.iter().all(|t| set(t).contains(p)))
            .collect()
    };
    let expected = BTreeMap::from([
        ("fp_union", union(|t| &t.false_positives)),
        ("fp_intersection", intersection(|t| &t.false_positives)),
        ("fn_union", union(|t| &t.false_negatives)),
        ("fn_intersection", intersection(|t| &t.false_negatives)),
    ]);
    let mut found: BTreeMap<&str, BTreeSet<String>> =
        expected.keys().map(|k| (*k, BTreeSet::new())).collect();
    for row in read_csv(&out.join("errors.csv")) {
        let set = found
            .get_mut(row["set"].as_str())
            .unwrap_or_else(|| panic!("unknown set {}", row["set"]));
        assert!(set.insert(row["path"].clone()), "{} twice", row["path"]);
    }
    assert_eq!(found, expected);
    assert!(found["fp_intersection"].is_subset(&found["fp_union"]));
    assert!(found["fn_intersection"].is_subset(&found["fn_union"]));
    assert!(
        !found["fp_union"].is_empty() || !found["fn_union"].is_empty(),
        "no model made any error: the union test says nothing"
    );
    let errors = read(&out.join("errors.md"));
    assert!(errors.contains("across 5 models"), "{errors}");
    for (title, key) in [
        ("false positives, union", "fp_union"),
        ("false negatives, intersection", "fn_intersection"),
    ] {
        let line = format!("| {title} ");
        let at = errors
            .find(&line)
            .unwrap_or_else(|| panic!("{line} in {errors}"));
        let count = errors[at..]
            .lines()
            .next()
            .unwrap()
            .rsplit('|')
            .nth(1)
            .unwrap();
        assert_eq!(count.trim(), found[key].len().to_string(), "{title}");
    }

    // Plots: linked from results.md by relative path, well formed, a mark per value.
    for plot in ["results.svg", "batch_sweep.svg"] {
        assert!(
            md.contains(&format!("]({plot})")),
            "{plot} not linked:\n{md}"
        );
        assert_well_formed(&read(&out.join(plot)), plot);
    }
    let bars = read(&out.join("results.svg"));
    let mut expected_bars = Vec::new();
    for (name, label) in [(&names[0], "global"), (&names[1], "local")] {
        for (k, m) in ["accuracy", "sensitivity", "specificity", "F1"]
            .iter()
            .enumerate()
        {
            if let Some(v) = runs[name.as_str()].metrics[k] {
                expected_bars.push(format!("{VARIANT} {label}: {m} {:.2} %", v * 100.0));
            }
        }
    }
    assert_eq!(titles(&bars, "bar"), expected_bars);
    let points = read(&out.join("batch_sweep.svg"));
    let mut found_points = titles(&points, "point");
    let mut expected_points = Vec::new();
    for (k, m) in ["accuracy", "sensitivity", "specificity", "F1", "AUC"]
        .iter()
        .enumerate()
    {
        for (b, n) in BATCHES.iter().zip(&names[2..]) {
            if let Some(v) = runs[n.as_str()].metrics[k] {
                expected_points.push(format!("batch {b}: {m} {:.2} %", v * 100.0));
            }
        }
    }
    found_points.sort();
    expected_points.sort();
    assert_eq!(found_points, expected_points);

    // Every run used the study's split.
    let split = read(&out.join("split.csv"));
    for n in &names {
        assert_eq!(
            read(&out.join("runs").join(n).join("split.csv")),
            split,
            "{n}"
        );
    }

    // Re-running trains nothing and writes the same bytes.
    let files = [
        "results.md",
        "results.csv",
        "results.svg",
        "batch_sweep.md",
        "batch_sweep.csv",
        "batch_sweep.svg",
        "errors.md",
        "errors.csv",
        "split.csv",
    ];
    let snapshot = || -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(out.join(f)).unwrap())
            .collect();
        for n in &names {
            v.push(std::fs::read(out.join("runs").join(n).join("run.json")).unwrap());
            v.push(std::fs::read(out.join("runs").join(n).join("last.safetensors")).unwrap());
        }
        v
    };
    let before = snapshot();
    let started = Instant::now();
    let again = ok(&strs(&args));
    let again_s = started.elapsed().as_secs_f64();
    assert!(String::from_utf8_lossy(&again.stdout).contains("5 of 5 runs finished"));
    assert!(before == snapshot(), "a re-run changed the study's files");
    eprintln!("study: first run {first_s:.1} s, re-run {again_s:.1} s");
    assert!(
        again_s < first_s / 2.0,
        "re-run {again_s:.1} s, first {first_s:.1} s"
    );
}

#[test]
fn bad_study_arguments_are_refused_by_name() {
    let dir = scratch("bad");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let out = dir.join("study");
    let with = |data: &Path, extra: &[&str]| -> Vec<String> {
        let mut a = study_args(data, &out);
        for pair in extra.chunks(2) {
            let at = a.iter().position(|x| x == pair[0]).unwrap();
            a[at + 1] = pair[1].to_string();
        }
        a
    };

    let nowhere = dir.join("nowhere");
    let err = fails(&strs(&with(&nowhere, &[])));
    assert!(
        err.contains("--data") && err.contains(nowhere.to_str().unwrap()),
        "{err}"
    );
    assert!(!out.exists(), "a failed start created {}", out.display());

    let err = fails(&strs(&with(&data, &["--batches", "4,0"])));
    assert!(err.contains("--batches") && err.contains('0'), "{err}");
    assert!(!out.exists());

    let err = fails(&strs(&with(&data, &["--batches", "4,two"])));
    assert!(err.contains("--batches") && err.contains("two"), "{err}");

    let err = fails(&strs(&with(&data, &["--variants", "r14x0.5,r999x9"])));
    assert!(
        err.contains("--variants") && err.contains("r999x9"),
        "{err}"
    );

    // An empty data folder: the error names it, and no study folder is left behind.
    let err = fails(&strs(&with(&data, &[])));
    assert!(err.contains(data.to_str().unwrap()), "{err}");
    assert!(!out.exists());
}
