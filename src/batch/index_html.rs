//! `index.html`: the archive at a glance, self-contained (inline style, no script), each
//! study linking to its own report.

use std::fmt::Write as _;

use super::index::{Index, IndexEntry};
use crate::plot::escape;

const CSS: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d1d1f;max-width:1180px;margin:24px auto;padding:0 20px}\
h1{font-size:26px;margin:0}h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}\
.sub{color:#555;margin:2px 0 14px;word-break:break-all}\
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}\
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}\
.card b{display:block;font-size:24px}\
table{border-collapse:collapse;width:100%;font-size:14px}\
th,td{border-bottom:1px solid #e4e4e4;padding:5px 8px;text-align:left;vertical-align:top}\
th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.st{display:inline-block;padding:1px 8px;border-radius:4px;font-weight:600;font-size:13px}\
.complete{background:#e3f4e8;color:#145a2a}.failed{background:#fde2e0;color:#8a1109}\
.incomplete{background:#fff3cd;color:#7a5a00}.missing{background:#eceff3;color:#4a5360}\
.err{color:#8a1109;font-size:13px;white-space:pre-wrap;max-width:420px}";

fn study_row(s: &mut String, e: &IndexEntry) {
    let id = match &e.report {
        Some(link) => format!("<a href=\"{}\">{}</a>", escape(link), escape(&e.study_id)),
        None => escape(&e.study_id),
    };
    let _ = writeln!(
        s,
        "<tr><td>{id}</td><td><span class=\"st {st}\">{st}</span></td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.1}</td>\
         <td class=\"n\">{:.1}</td><td>{}</td><td class=\"err\">{}</td></tr>",
        e.frames,
        e.segments,
        e.flagged_s,
        e.duration_s,
        e.frames_per_s,
        escape(&e.model),
        escape(e.error.as_deref().unwrap_or("")),
        st = e.status,
    );
}

/// The page.
pub fn render(index: &Index) -> String {
    let c = &index.counts;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>endoscan archive: {}</title><style>{CSS}</style></head><body>\n\
         <h1>endoscan archive</h1><p class=\"sub\">{} — indexed {}</p>\n<div class=\"cards\">",
        escape(&index.archive),
        escape(&index.archive),
        escape(&index.generated)
    );
    for (label, n) in [
        ("studies", index.studies.len()),
        ("complete", c.complete),
        ("incomplete", c.incomplete),
        ("failed", c.failed),
        ("missing", c.missing),
    ] {
        let _ = write!(s, "<div class=\"card\"><b>{n}</b>{label}</div>");
    }
    let _ = writeln!(
        s,
        "<div class=\"card\"><b>{}</b>frames</div><div class=\"card\"><b>{:.1}</b>frames per task-second</div></div>",
        c.total_frames, index.frames_per_task_s
    );
    s.push_str(
        "<h2>Studies</h2>\n<table><tr><th>study</th><th>status</th><th>frames</th><th>segments</th>\
         <th>flagged s</th><th>duration s</th><th>scoring frames/s</th><th>model</th><th>error</th></tr>\n",
    );
    for e in &index.studies {
        study_row(&mut s, e);
    }
    s.push_str("</table>\n<h2>Task runs</h2>\n<table><tr><th>shard</th><th>host</th><th>finished</th><th>studies</th><th>complete</th><th>skipped</th><th>failed</th><th>busy</th><th>frames</th><th>wall s</th><th>frames/s</th></tr>\n");
    for r in &index.shards {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.1}</td></tr>",
            escape(&r.shard),
            escape(&r.host),
            escape(&r.finished),
            r.studies,
            r.complete,
            r.skipped,
            r.failed,
            r.busy,
            r.frames,
            r.wall_s,
            r.frames_per_s
        );
    }
    s.push_str("</table>\n</body></html>\n");
    s
}
