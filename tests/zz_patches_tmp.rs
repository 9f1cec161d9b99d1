use std::io::Write;
#[test]
fn patches() {
    let src = std::path::PathBuf::from(std::env::var("SRC").unwrap());
    let out = std::path::PathBuf::from(std::env::var("OUT").unwrap());
    let p: i64 = std::env::var("P").map(|v| v.parse().unwrap()).unwrap_or(256);
    let (cx, cy, half) = (691i64, 270i64, 253i64);
    let text = std::fs::read_to_string(src.join("labels.csv")).unwrap();
    let mut csv = std::fs::File::create({ std::fs::create_dir_all(&out).unwrap(); out.join("labels.csv") }).unwrap();
    writeln!(csv, "path,label,patient_id").unwrap();
    let mut state = 12345u64;
    let mut rnd = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; (state >> 11) as f64 / (1u64 << 53) as f64 };
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let img = image::open(src.join(f[0])).unwrap().into_rgb8();
        let (mx, my) = if f[1] == "cancer" {
            let (x, y, w, h): (i64, i64, i64, i64) = (f[3].parse().unwrap(), f[4].parse().unwrap(), f[5].parse().unwrap(), f[6].parse().unwrap());
            let j = ((p - w.max(h)) / 2 - 8).max(0) as f64;
            ((x + w / 2) as f64 + (rnd() * 2.0 - 1.0) * j, (y + h / 2) as f64 + (rnd() * 2.0 - 1.0) * j)
        } else {
            let r = (half - p / 2) as f64 * rnd().sqrt();
            let a = rnd() * std::f64::consts::TAU;
            (cx as f64 + r * a.cos(), cy as f64 + r * a.sin())
        };
        let x0 = (mx as i64 - p / 2).clamp(cx - half, cx + half - p).clamp(0, img.width() as i64 - p);
        let y0 = (my as i64 - p / 2).clamp(cy - half, cy + half - p).clamp(0, img.height() as i64 - p);
        let crop = image::imageops::crop_imm(&img, x0 as u32, y0 as u32, p as u32, p as u32).to_image();
        let name = f[0].replace("images/", "patches/");
        std::fs::create_dir_all(out.join(&name).parent().unwrap()).unwrap();
        crop.save(out.join(&name)).unwrap();
        writeln!(csv, "{name},{},{}", f[1], f[2]).unwrap();
    }
}
