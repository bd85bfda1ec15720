//! The study plot (DESIGN.md §9): one metric against one axis, a series per
//! value of the other axes. Per point: the p50 line, a p10–p90 band and the
//! mean with its 95 % confidence interval; below, the runs that failed at
//! each point (failures are shown, not hidden). Log scales are applied by
//! the caller's choice (values spanning ≥ 100×), drawn as log10 on a linear
//! chart with labels at powers of ten.

use std::fs::{self, File};
use std::path::Path;

use plotters::chart::ChartBuilder;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::element::{Circle, PathElement, Polygon, Text};
use plotters::prelude::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::series::LineSeries;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor, WHITE};

use crate::{ReportError, font};

type DrawResultOf<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 760;
const TEXT: RGBColor = RGBColor(30, 30, 30);
const FAIL: RGBColor = RGBColor(214, 39, 40);
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];

/// Everything one study plot shows, in plain numbers.
#[derive(Clone, Debug, Default)]
pub struct StudyPlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Draw x (y) on a log10 scale; the caller decides (values spanning ≥ 100×).
    pub x_log: bool,
    pub y_log: bool,
    /// Category names when x is not numeric: point `x` = index into this.
    pub x_ticks: Option<Vec<String>>,
    /// Draw the line through the means, without the p10–p90 band: for a
    /// rate (a 0/1 metric), whose percentiles are only ever 0 or 1.
    pub mean_line: bool,
    /// The legend line above the chart; empty: the standard one for the kind of line.
    pub note: String,
    pub series: Vec<StudySeries>,
}

#[derive(Clone, Debug, Default)]
pub struct StudySeries {
    /// e.g. "max_shards_in_flight = 64"; empty for a single series.
    pub label: String,
    pub points: Vec<StudyPoint>,
}

/// One point of a series. `stats` is `None` when no run of it ended.
#[derive(Clone, Debug, Default)]
pub struct StudyPoint {
    pub x: f64,
    pub stats: Option<PointStats>,
    pub runs: u64,
    /// Runs that failed (safety, liveness, internal error, or the protocol's own Failed).
    pub failures: u64,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct PointStats {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Draws `plot` into `png` and `svg`; byte-identical for identical input.
pub fn write_study_plot(plot: &StudyPlot, png: &Path, svg: &Path) -> Result<(), ReportError> {
    let error = |path: &Path, message: String| ReportError::Draw { path: path.to_path_buf(), message };
    if !font::register() {
        return Err(error(png, "the embedded DejaVu Sans font was rejected".into()));
    }
    File::create(png).map_err(|source| ReportError::Io { path: png.to_path_buf(), source })?;
    {
        let root = BitMapBackend::new(png, (WIDTH, HEIGHT)).into_drawing_area();
        render(&root, plot).map_err(|e| error(png, e.to_string()))?;
        root.present().map_err(|e| error(png, e.to_string()))?;
    }
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        render(&root, plot).map_err(|e| error(svg, e.to_string()))?;
        root.present().map_err(|e| error(svg, e.to_string()))?;
    }
    fs::write(svg, text).map_err(|source| ReportError::Io { path: svg.to_path_buf(), source })
}

/// A value on the drawn scale: log10 on a log axis (non-positive values are
/// put at the floor, a decade below the smallest positive one).
fn scale(v: f64, log: bool, floor: f64) -> f64 {
    if log { v.max(floor).log10() } else { v }
}

/// A tick label: plain, or 10^v on a log axis.
fn label(v: f64, log: bool) -> String {
    let x = if log { 10f64.powf(v) } else { v };
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e6 {
        format!("{:.3}", x / 1e6).trim_end_matches('0').trim_end_matches('.').to_string() + "M"
    } else if a >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if a >= 10.0 {
        format!("{x:.0}")
    } else if a >= 0.1 {
        format!("{x:.2}").trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{x:.1e}")
    }
}

/// Smallest positive value of `values`, a decade down (the floor of a log axis).
fn floor(values: impl Iterator<Item = f64>) -> f64 {
    values.filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min).min(1e300) / 10.0
}

fn range(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.06).max(if lo == hi { lo.abs().max(1.0) * 0.1 } else { 0.0 });
    (lo - pad, hi + pad)
}

fn render<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plot: &StudyPlot) -> DrawResultOf<(), DB> {
    root.fill(&WHITE)?;
    let body = root.titled(&plot.title, font::text(20).color(&TEXT))?;
    let (top, bottom) = body.split_vertically(HEIGHT * 68 / 100);
    let all = || plot.series.iter().flat_map(|s| s.points.iter());
    let x_floor = floor(all().map(|p| p.x));
    let y_floor = floor(all().filter_map(|p| p.stats).flat_map(|s| [s.p10, s.ci_low, s.p50]));
    let xs: Vec<f64> = all().map(|p| scale(p.x, plot.x_log, x_floor)).collect();
    let (x0, x1) = match &plot.x_ticks {
        Some(t) => (-0.5, t.len() as f64 - 0.5),
        None => range(&xs),
    };
    let ys: Vec<f64> = all()
        .filter_map(|p| p.stats)
        .flat_map(|s| [s.p10, s.p90, s.ci_low, s.ci_high])
        .map(|v| scale(v, plot.y_log, y_floor))
        .collect();
    let (y0, y1) = range(&ys);
    let x_fmt = |v: &f64| match &plot.x_ticks {
        Some(t) if (v - v.round()).abs() < 1e-6 && *v >= 0.0 => t.get(v.round() as usize).cloned().unwrap_or_default(),
        Some(_) => String::new(),
        None => label(*v, plot.x_log),
    };
    let mut chart = ChartBuilder::on(&top)
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(format!("{}{}", plot.x_label, if plot.x_log { " (log scale)" } else { "" }))
        .y_desc(format!("{}{}", plot.y_label, if plot.y_log { " (log scale)" } else { "" }))
        .x_labels(plot.x_ticks.as_ref().map_or(10, |t| t.len() * 2 + 1))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&|v| label(*v, plot.y_log))
        .label_style(font::text(14).color(&TEXT))
        .axis_desc_style(font::text(14).color(&TEXT))
        .light_line_style(WHITE)
        .draw()?;
    let sx = |x: f64| scale(x, plot.x_log, x_floor);
    let sy = |y: f64| scale(y, plot.y_log, y_floor);
    for (k, series) in plot.series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let with: Vec<(f64, PointStats)> = series.points.iter().filter_map(|p| p.stats.map(|s| (sx(p.x), s))).collect();
        if with.len() > 1 && !plot.mean_line {
            let mut band: Vec<(f64, f64)> = with.iter().map(|(x, s)| (*x, sy(s.p90))).collect();
            band.extend(with.iter().rev().map(|(x, s)| (*x, sy(s.p10))));
            chart.draw_series([Polygon::new(band, color.mix(0.15).filled())])?;
        }
        let centre = |s: &PointStats| if plot.mean_line { s.mean } else { s.p50 };
        let line =
            chart.draw_series(LineSeries::new(with.iter().map(|(x, s)| (*x, sy(centre(s)))), color.stroke_width(2)))?;
        let what = if plot.mean_line { "mean" } else { "p50" };
        let name = if series.label.is_empty() { what.to_string() } else { format!("{} ({what})", series.label) };
        line.label(name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        for (x, s) in &with {
            chart.draw_series([PathElement::new(
                vec![(*x, sy(s.ci_low)), (*x, sy(s.ci_high))],
                color.stroke_width(3),
            )])?;
            chart.draw_series([Circle::new((*x, sy(s.mean)), 4, color.filled())])?;
            if !plot.mean_line {
                chart.draw_series([Circle::new((*x, sy(s.p50)), 3, WHITE.filled())])?;
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(TEXT.mix(0.3))
        .label_font(font::text(14).color(&TEXT))
        .draw()?;
    let note = if !plot.note.is_empty() {
        plot.note.as_str()
    } else if plot.mean_line {
        "line and dot: mean (a rate)   bar: its 95% confidence interval (Wilson)"
    } else {
        "line: p50   band: p10–p90   dot and bar: mean with its 95% confidence interval"
    };
    top.draw(&Text::new(note, (100, 4), font::text(12).color(&TEXT)))?;
    failures(&bottom, plot, (x0, x1), &sx, &x_fmt)
}

fn failures<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &StudyPlot,
    (x0, x1): (f64, f64),
    sx: &dyn Fn(f64) -> f64,
    x_fmt: &dyn Fn(&f64) -> String,
) -> DrawResultOf<(), DB> {
    let share = |p: &StudyPoint| if p.runs == 0 { 0.0 } else { 100.0 * p.failures as f64 / p.runs as f64 };
    let total: u64 = plot.series.iter().flat_map(|s| &s.points).map(|p| p.failures).sum();
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .caption(
            if total == 0 {
                "failed runs: none".to_string()
            } else {
                format!("failed runs: {total} (% of the point's runs)")
            },
            font::text(14).color(&TEXT),
        )
        .build_cartesian_2d(x0..x1, 0.0..105.0)?;
    chart
        .configure_mesh()
        .y_desc("% failed")
        .x_labels(plot.x_ticks.as_ref().map_or(10, |t| t.len() * 2 + 1))
        .x_label_formatter(x_fmt)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(font::text(12).color(&TEXT))
        .axis_desc_style(font::text(14).color(&TEXT))
        .light_line_style(WHITE)
        .draw()?;
    for (k, series) in plot.series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<(f64, f64)> = series.points.iter().map(|p| (sx(p.x), share(p))).collect();
        chart.draw_series(LineSeries::new(pts.iter().copied(), color.mix(0.6).stroke_width(1)))?;
        for (p, (x, y)) in series.points.iter().zip(&pts) {
            let c = if p.failures > 0 { FAIL } else { color };
            chart.draw_series([Circle::new((*x, *y), 3, c.filled())])?;
            if p.failures > 0 {
                let style = font::text(12).color(&FAIL).pos(Pos::new(HPos::Center, VPos::Bottom));
                chart.draw_series([Text::new(
                    format!("{}/{}", p.failures, p.runs),
                    (*x, (*y + 4.0).min(100.0)),
                    style,
                )])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, v: f64, failures: u64) -> StudyPoint {
        let stats =
            PointStats { p10: v * 0.8, p50: v, p90: v * 1.3, mean: v * 1.05, ci_low: v * 0.95, ci_high: v * 1.15 };
        StudyPoint { x, stats: Some(stats), runs: 10, failures }
    }

    #[test]
    fn draws_numeric_log_and_categorical_plots() {
        let dir = std::env::temp_dir().join(format!("restoresim-study-plot-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let plot = StudyPlot {
            title: "t".into(),
            x_label: "shards".into(),
            y_label: "virtual µs".into(),
            x_log: true,
            y_log: true,
            x_ticks: None,
            mean_line: false,
            note: String::new(),
            series: vec![
                StudySeries { label: "cap = 16".into(), points: vec![point(10.0, 1e3, 0), point(1e4, 1e6, 2)] },
                StudySeries { label: "cap = 64".into(), points: vec![point(10.0, 8e2, 0), point(1e4, 5e5, 0)] },
            ],
        };
        write_study_plot(&plot, &dir.join("a.png"), &dir.join("a.svg")).unwrap();
        assert_eq!(&fs::read(dir.join("a.png")).unwrap()[..4], b"\x89PNG");
        assert!(fs::read_to_string(dir.join("a.svg")).unwrap().contains("cap = 64"));
        let categorical = StudyPlot {
            x_ticks: Some(vec!["design-default".into(), "generation-only".into()]),
            x_log: false,
            y_log: false,
            mean_line: true,
            series: vec![StudySeries { label: String::new(), points: vec![point(0.0, 5.0, 0), point(1.0, 9.0, 10)] }],
            ..plot
        };
        write_study_plot(&categorical, &dir.join("b.png"), &dir.join("b.svg")).unwrap();
        assert!(fs::read_to_string(dir.join("b.svg")).unwrap().contains("generation-only"));
        if std::env::var_os("KEEP_PLOTS").is_none() {
            let _ = fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn log_labels_are_powers_of_ten() {
        assert_eq!(label(3.0, true), "1000");
        assert_eq!(label(6.0, true), "1M");
        assert_eq!(label(0.5, false), "0.5");
    }
}
