//! A finding as six CSV fields (`box_x,box_y,box_w,box_h,peak_x,peak_y`), all empty when
//! there is none: the columns of `scores.csv` and `frames.csv`.

use anyhow::{bail, Context};

use super::Finding;

/// The header of the finding's columns.
pub const HEADER: &str = "box_x,box_y,box_w,box_h,peak_x,peak_y";
/// How many fields a finding takes.
pub const FIELDS: usize = 6;

/// The six fields of `finding`, comma-separated.
pub fn format(finding: Option<&Finding>) -> String {
    match finding {
        Some(f) => format!(
            "{},{},{},{},{},{}",
            f.x, f.y, f.width, f.height, f.peak_x, f.peak_y
        ),
        None => ",,,,,".to_string(),
    }
}

/// Reads the six fields back: all empty → `None`; all whole numbers, a box that holds its
/// peak → the finding; anything else is an error naming the column.
pub fn parse(fields: &[&str]) -> anyhow::Result<Option<Finding>> {
    if fields.len() != FIELDS {
        bail!("expected {FIELDS} finding fields, found {}", fields.len());
    }
    if fields.iter().all(|f| f.is_empty()) {
        return Ok(None);
    }
    let mut v = [0u32; FIELDS];
    for ((value, field), name) in v.iter_mut().zip(fields).zip(HEADER.split(',')) {
        *value = field
            .parse()
            .with_context(|| format!("{name} '{field}' is not a pixel coordinate"))?;
    }
    let f = Finding {
        x: v[0],
        y: v[1],
        width: v[2],
        height: v[3],
        peak_x: v[4],
        peak_y: v[5],
    };
    if f.width == 0 || f.height == 0 || !f.contains(f64::from(f.peak_x), f64::from(f.peak_y)) {
        bail!("finding {} is not a box holding its peak", format(Some(&f)));
    }
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_a_bad_field() {
        let f = Finding {
            x: 10,
            y: 20,
            width: 30,
            height: 40,
            peak_x: 11,
            peak_y: 59,
        };
        let text = format(Some(&f));
        assert_eq!(text, "10,20,30,40,11,59");
        let fields: Vec<&str> = text.split(',').collect();
        assert_eq!(parse(&fields).unwrap(), Some(f));
        assert_eq!(parse(&["", "", "", "", "", ""]).unwrap(), None);
        let err = parse(&["10", "x", "30", "40", "11", "59"]).unwrap_err();
        assert!(err.to_string().contains("box_y 'x'"), "{err}");
        // The peak must lie in the box.
        assert!(parse(&["10", "20", "30", "40", "40", "20"]).is_err());
    }
}
