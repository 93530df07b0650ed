//! Inline SVG charts for the report: horizontal bars, line charts, a scatter
//! map, a heat map, a dendrogram, a map of circles and stacked columns. Plain strings, no dependencies: each chart is a few
//! dozen lines, and the page must open without network.

use std::fmt::Write;

/// Escape text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// A colour per cluster: 20 well-separated hues, then repeated.
pub fn color(i: usize) -> &'static str {
    const P: [&str; 20] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
        "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
    ];
    P[i % P.len()]
}

/// Horizontal bars, one per `(label, value)`, longest first as given.
pub fn bars(id: &str, items: &[(String, f64)], color: &str) -> String {
    let (w, row, label_w) = (420.0, 18.0, 140.0);
    let h = row * items.len() as f64 + 4.0;
    let max = items.iter().map(|x| x.1).fold(0.0, f64::max).max(1e-12);
    let mut s = format!(
        r#"<svg id="{id}" class="bars" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">"#
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let bw = (w - label_w - 50.0) * v / max;
        let _ = write!(
            s,
            r##"<text x="{x}" y="{ty}" text-anchor="end" font-size="12">{l}</text><rect class="bar" x="{label_w}" y="{y}" width="{bw:.1}" height="{bh}" fill="{color}"><title>{l}: {v:.4}</title></rect><text x="{vx:.1}" y="{ty}" font-size="10" fill="#555">{v:.3}</text>"##,
            x = label_w - 6.0,
            ty = y + 12.0,
            l = esc(label),
            bh = row - 4.0,
            vx = label_w + bw + 4.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// A "nice" tick step for a range.
fn tick_step(range: f64, ticks: usize) -> f64 {
    let raw = (range / ticks.max(1) as f64).max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let m = if n < 1.5 {
        1.0
    } else if n < 3.5 {
        2.0
    } else if n < 7.5 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1000.0 || v.abs() < 1e-3 {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// One line of a chart: name, colour, points.
pub type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// A line chart of `series` with axes and ticks.
pub fn lines(id: &str, title: &str, x_label: &str, series: &[Series]) -> String {
    let (w, h) = (520.0, 260.0);
    let (l, r, t, b) = (60.0, 12.0, 26.0, 36.0);
    let pts = series.iter().flat_map(|s| s.2.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts.filter(|p| p.0.is_finite() && p.1.is_finite()) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + y0.abs().max(1e-3);
    }
    let pad = (y1 - y0) * 0.05;
    let (y0, y1) = (y0 - pad, y1 + pad);
    let sx = |x: f64| l + (x - x0) / (x1 - x0) * (w - l - r);
    let sy = |y: f64| h - b - (y - y0) / (y1 - y0) * (h - t - b);
    let mut s = format!(
        r#"<svg id="{id}" class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><text x="{cx}" y="16" text-anchor="middle" font-size="13" font-weight="600">{title}</text>"#,
        cx = w / 2.0,
        title = esc(title)
    );
    // Axes and ticks.
    let _ = write!(
        s,
        r##"<line x1="{l}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="#444"/><line x1="{l}" y1="{t}" x2="{l}" y2="{yb}" stroke="#444"/>"##,
        yb = h - b,
        xr = w - r
    );
    let ys = tick_step(y1 - y0, 5);
    let mut v = (y0 / ys).ceil() * ys;
    while v <= y1 {
        let _ = write!(
            s,
            r##"<line x1="{l}" y1="{y:.1}" x2="{xr}" y2="{y:.1}" stroke="#eee"/><text x="{tx}" y="{ty:.1}" text-anchor="end" font-size="10">{lab}</text>"##,
            y = sy(v),
            xr = w - r,
            tx = l - 4.0,
            ty = sy(v) + 3.0,
            lab = fmt_tick(v)
        );
        v += ys;
    }
    let xs = tick_step(x1 - x0, 6);
    let mut v = (x0 / xs).ceil() * xs;
    while v <= x1 {
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{y}" text-anchor="middle" font-size="10">{lab}</text>"#,
            x = sx(v),
            y = h - b + 14.0,
            lab = fmt_tick(v)
        );
        v += xs;
    }
    let _ = write!(
        s,
        r#"<text x="{x}" y="{y}" text-anchor="middle" font-size="11">{xl}</text>"#,
        x = (l + w - r) / 2.0,
        y = h - 6.0,
        xl = esc(x_label)
    );
    for (i, (name, col, p)) in series.iter().enumerate() {
        let d: Vec<String> = p
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        if d.len() == 1 {
            let _ = write!(
                s,
                r#"<circle cx="{}" r="3" fill="{col}"/>"#,
                d[0].replace(',', "\" cy=\"")
            );
        }
        let _ = write!(
            s,
            r#"<polyline class="series" fill="none" stroke="{col}" stroke-width="1.5" points="{}"><title>{}</title></polyline>"#,
            d.join(" "),
            esc(name)
        );
        if series.len() > 1 {
            let _ = write!(
                s,
                r#"<rect x="{x}" y="{y}" width="10" height="10" fill="{col}"/><text x="{tx}" y="{ty}" font-size="11">{n}</text>"#,
                x = w - r - 110.0,
                y = t + 4.0 + 14.0 * i as f64,
                tx = w - r - 96.0,
                ty = t + 13.0 + 14.0 * i as f64,
                n = esc(name)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A scatter map of `(x, y, cluster)` points, each with a tooltip.
pub fn scatter(id: &str, points: &[(f32, f32, usize)], tips: &[String]) -> String {
    let (w, h, m) = (640.0, 480.0, 14.0);
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &(x, y, _) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if points.is_empty() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let (dx, dy) = ((x1 - x0).max(1e-6), (y1 - y0).max(1e-6));
    let mut s = format!(
        r##"<svg id="{id}" class="map" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><rect width="{w}" height="{h}" fill="#fafafa" stroke="#ddd"/>"##
    );
    for (i, &(x, y, c)) in points.iter().enumerate() {
        let px = m + (x - x0) / dx * (w - 2.0 * m);
        let py = h - m - (y - y0) / dy * (h - 2.0 * m);
        let _ = write!(
            s,
            r#"<circle class="doc c{c}" cx="{px:.1}" cy="{py:.1}" r="2.6" fill="{col}" fill-opacity="0.75"><title>{tip}</title></circle>"#,
            col = color(c),
            tip = tips.get(i).map_or(String::new(), |t| esc(t)),
        );
    }
    s.push_str("</svg>");
    s
}

/// A heat map of `counts (rows, cols)`, darker for larger shares of the row.
pub fn heatmap(id: &str, counts: &[Vec<u64>], rows: &[String], cols: &[String]) -> String {
    let (cell, label_w, head) = (34.0, 160.0, 90.0);
    let (nr, nc) = (rows.len(), cols.len());
    let (w, h) = (
        label_w + cell * nc as f64 + 10.0,
        head + cell * nr as f64 + 10.0,
    );
    let mut s = format!(
        r#"<svg id="{id}" class="heatmap" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">"#
    );
    for (j, c) in cols.iter().enumerate() {
        let x = label_w + cell * j as f64 + cell / 2.0;
        let _ = write!(
            s,
            r#"<text transform="translate({x:.1},{y}) rotate(-50)" font-size="10">{c}</text>"#,
            y = head - 6.0,
            c = esc(&truncate(c, 18))
        );
    }
    for (i, row) in counts.iter().enumerate().take(nr) {
        let total: u64 = row.iter().sum::<u64>().max(1);
        let y = head + cell * i as f64;
        let _ = write!(
            s,
            r#"<text x="{x}" y="{ty:.1}" text-anchor="end" font-size="11">{r}</text>"#,
            x = label_w - 6.0,
            ty = y + cell / 2.0 + 4.0,
            r = esc(&truncate(&rows[i], 24))
        );
        for (j, &n) in row.iter().enumerate().take(nc) {
            let f = n as f64 / total as f64;
            let light = (97.0 - 62.0 * f).round();
            let fg = if f > 0.5 { "#fff" } else { "#222" };
            let _ = write!(
                s,
                r##"<rect class="cell" x="{x:.1}" y="{y:.1}" width="{cell}" height="{cell}" fill="hsl(215,70%,{light}%)" stroke="#fff"><title>{r} / {c}: {n} ({p:.1}%)</title></rect><text x="{tx:.1}" y="{ty:.1}" text-anchor="middle" font-size="9" fill="{fg}">{n}</text>"##,
                x = label_w + cell * j as f64,
                r = esc(&rows[i]),
                c = esc(&cols[j]),
                p = 100.0 * f,
                tx = label_w + cell * j as f64 + cell / 2.0,
                ty = y + cell / 2.0 + 3.0,
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A horizontal dendrogram: `leaves` (label, colour) top to bottom in the
/// order given, and `joins` as `(child a, child b, height)` over node ids
/// (leaves `0..L` by their index in `order`'s source, then join `i` as
/// `L + i`); `order[r]` is the leaf on row `r`. `cut`: a dashed line at
/// that height (where the themes are cut).
pub fn dendrogram(
    id: &str,
    leaves: &[(String, &str)],
    order: &[usize],
    joins: &[(usize, usize, f64)],
    cut: Option<f64>,
) -> String {
    let (row, label_w, plot_w, top) = (18.0, 220.0, 380.0, 8.0);
    let n = leaves.len();
    let (w, h) = (label_w + plot_w + 20.0, top * 2.0 + row * n as f64);
    // The axis starts a little below the lowest join (leaves sit at its
    // start): in a high-dimensional space every join is far from zero, and
    // from zero the joins would crowd at the right.
    let max = joins.iter().map(|j| j.2).fold(0.0, f64::max);
    let lo = 0.8
        * joins
            .iter()
            .map(|j| j.2)
            .fold(f64::INFINITY, f64::min)
            .min(max);
    let x = |height: f64| label_w + plot_w * (height - lo).max(0.0) / (max - lo).max(1e-12);
    let mut s = format!(
        r#"<svg id="{id}" class="dendrogram" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">"#
    );
    // Each node's (x, y): leaves at height 0 on their rows, joins at their
    // height between their children.
    let mut at: Vec<(f64, f64)> = vec![(label_w, 0.0); n + joins.len()];
    for (r, &leaf) in order.iter().enumerate() {
        let y = top + row * r as f64 + row / 2.0;
        at[leaf] = (label_w, y);
        let (label, col) = &leaves[leaf];
        let _ = write!(
            s,
            r#"<rect x="{rx}" y="{ry:.1}" width="10" height="10" fill="{col}"/><text class="leaf" x="{tx}" y="{ty:.1}" text-anchor="end" font-size="11">{l}</text>"#,
            rx = label_w - 14.0,
            ry = y - 5.0,
            tx = label_w - 18.0,
            ty = y + 4.0,
            l = esc(&truncate(label, 34)),
        );
    }
    for (i, &(a, b, height)) in joins.iter().enumerate() {
        let (xa, ya) = at[a];
        let (xb, yb) = at[b];
        let xj = x(height);
        let _ = write!(
            s,
            r##"<path class="join" d="M{xa:.1},{ya:.1}H{xj:.1}V{yb:.1}H{xb:.1}" fill="none" stroke="#555"><title>{height:.3}</title></path>"##
        );
        at[n + i] = (xj, (ya + yb) / 2.0);
    }
    if let Some(c) = cut {
        let _ = write!(
            s,
            r##"<line class="cut" x1="{cx:.1}" x2="{cx:.1}" y1="0" y2="{h}" stroke="#d62728" stroke-dasharray="4 3"/>"##,
            cx = x(c)
        );
    }
    s.push_str("</svg>");
    s
}

/// A map of clusters: one circle per `(x, y, size, label, colour)`, its area
/// proportional to the size, labelled.
pub fn bubbles(id: &str, items: &[(f32, f32, usize, String, &str)]) -> String {
    let (w, h, m) = (480.0, 480.0, 60.0);
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &(x, y, ..) in items {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if items.is_empty() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let (dx, dy) = ((x1 - x0).max(1e-6), (y1 - y0).max(1e-6));
    let biggest = items.iter().map(|i| i.2).max().unwrap_or(1).max(1) as f64;
    let mut s = format!(
        r##"<svg id="{id}" class="bubbles" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><rect width="{w}" height="{h}" fill="#fafafa" stroke="#ddd"/>"##
    );
    // Biggest first, so small circles stay on top.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(items[i].2));
    for i in order {
        let (x, y, size, label, col) = &items[i];
        let px = m + ((x - x0) / dx) as f64 * (w - 2.0 * m);
        let py = h - m - ((y - y0) / dy) as f64 * (h - 2.0 * m);
        let r = 6.0 + 34.0 * (*size as f64 / biggest).sqrt();
        let _ = write!(
            s,
            r##"<circle class="centroid" cx="{px:.1}" cy="{py:.1}" r="{r:.1}" fill="{col}" fill-opacity="0.55" stroke="{col}"><title>{l}: {size} texts</title></circle><text x="{px:.1}" y="{ty:.1}" text-anchor="middle" font-size="10">{t}</text>"##,
            l = esc(label),
            ty = py + 3.0,
            t = esc(&truncate(label, 22)),
        );
    }
    s.push_str("</svg>");
    s
}

/// Stacked columns: one column per period (`labels`), `counts[p][c]` of
/// each series `c` stacked in `colors[c]`; every few labels shown.
pub fn stacked(
    id: &str,
    labels: &[String],
    counts: &[Vec<u64>],
    names: &[String],
    colors: &[&str],
) -> String {
    let (w, h, left, bottom, top) = (720.0, 300.0, 48.0, 56.0, 10.0);
    let n = labels.len().max(1);
    let col_w = (w - left - 10.0) / n as f64;
    let max = counts
        .iter()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let y = |v: f64| h - bottom - (h - bottom - top) * v / max;
    let mut s = format!(
        r##"<svg id="{id}" class="stacked" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><line x1="{left}" x2="{w}" y1="{b}" y2="{b}" stroke="#999"/><text x="{tx}" y="{ty}" text-anchor="end" font-size="10">{max}</text><text x="{tx}" y="{b}" text-anchor="end" font-size="10">0</text>"##,
        b = h - bottom,
        tx = left - 4.0,
        ty = top + 8.0,
    );
    let every = n.div_ceil(24).max(1);
    for (p, row) in counts.iter().enumerate() {
        let x = left + col_w * p as f64;
        let mut base = 0.0;
        for (c, &v) in row.iter().enumerate() {
            if v == 0 {
                continue;
            }
            let (y1, y0) = (y(base + v as f64), y(base));
            let _ = write!(
                s,
                r#"<rect class="period" x="{x:.1}" y="{y1:.1}" width="{cw:.1}" height="{hh:.1}" fill="{col}"><title>{l} / {name}: {v}</title></rect>"#,
                cw = (col_w - 1.0).max(0.5),
                hh = y0 - y1,
                col = colors.get(c).copied().unwrap_or("#999"),
                l = esc(&labels[p]),
                name = esc(names.get(c).map_or("", String::as_str)),
            );
            base += v as f64;
        }
        if p % every == 0 {
            let _ = write!(
                s,
                r#"<text transform="translate({tx:.1},{ty}) rotate(-45)" text-anchor="end" font-size="10">{l}</text>"#,
                tx = x + col_w / 2.0,
                ty = h - bottom + 12.0,
                l = esc(&labels[p]),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// At most `n` characters, with an ellipsis when cut.
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(10.0, 5), 2.0);
        assert_eq!(tick_step(0.37, 5), 0.05);
        assert_eq!(tick_step(1234.0, 6), 200.0);
    }

    #[test]
    fn charts_survive_degenerate_input() {
        assert!(lines("a", "t", "x", &[("s", "#000", vec![])]).ends_with("</svg>"));
        assert!(lines("a", "t", "x", &[("s", "#000", vec![(1.0, f64::NAN)])]).ends_with("</svg>"));
        assert!(lines("a", "t", "x", &[("s", "#000", vec![(1.0, 2.0)])]).contains("<circle"));
        assert!(scatter("m", &[], &[]).ends_with("</svg>"));
        assert!(heatmap("h", &[], &[], &[]).ends_with("</svg>"));
        assert!(bars("b", &[("x".into(), 0.0)], "#000").contains("<rect"));
    }
}
