//! The sweep plot (docs/design.md §9): left, a histogram of the virtual time at
//! which each passing seed's restores had all ended, with p50/p90/p99
//! marked; right, the seeds by outcome and by broken invariant.

use std::fs::{self, File};
use std::path::Path;

use plotters::chart::ChartBuilder;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::element::{PathElement, Rectangle, Text};
use plotters::prelude::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor, WHITE};

use crate::{ReportError, font};

/// What drawing on backend `DB` returns.
type DrawResultOf<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 600;
const BINS: usize = 40;
const TEXT: RGBColor = RGBColor(30, 30, 30);
const BAR: RGBColor = RGBColor(31, 119, 180);
const MARK: RGBColor = RGBColor(214, 39, 40);
const PASS: RGBColor = RGBColor(44, 160, 44);
const FAIL: RGBColor = RGBColor(214, 39, 40);

/// Everything the sweep plot shows, in plain numbers.
#[derive(Clone, Debug, Default)]
pub struct SweepPlot {
    /// e.g. "ci-smoke  seeds 0..10000".
    pub title: String,
    /// Completion times of passing seeds, virtual µs, any order.
    pub completion_us: Vec<u64>,
    /// Marked on the histogram, e.g. ("p50", 120_000).
    pub marks: Vec<(String, u64)>,
    /// One bar each, top to bottom, e.g. ("pass", 9990), ("safety: 4-progress-monotonic", 10).
    pub outcomes: Vec<(String, u64)>,
}

/// Draws `plot` into `png` and `svg` (1400 × 600 px); byte-identical for
/// identical input.
pub fn write_sweep_plot(plot: &SweepPlot, png: &Path, svg: &Path) -> Result<(), ReportError> {
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

fn render<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plot: &SweepPlot) -> DrawResultOf<(), DB> {
    root.fill(&WHITE)?;
    let body = root.titled(&plot.title, font::text(20).color(&TEXT))?;
    let (left, right) = body.split_horizontally(WIDTH * 60 / 100);
    histogram(&left, plot)?;
    outcomes(&right, plot)
}

/// Equal-width bins from 0 to the largest time, in milliseconds.
fn bins(values: &[u64]) -> (f64, Vec<u64>) {
    let max_ms = values.iter().copied().max().unwrap_or(0) as f64 / 1000.0;
    let width = (max_ms / BINS as f64).max(0.001);
    let mut counts = vec![0u64; BINS];
    for v in values {
        let i = ((*v as f64 / 1000.0) / width) as usize;
        counts[i.min(BINS - 1)] += 1;
    }
    (width, counts)
}

fn histogram<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, plot: &SweepPlot) -> DrawResultOf<(), DB> {
    let (width, counts) = bins(&plot.completion_us);
    let y_max = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    let x_max = width * BINS as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .caption(
            format!("completion time of {} passing seeds (virtual)", plot.completion_us.len()),
            font::text(16).color(&TEXT),
        )
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("ms of virtual time until every restore ended")
        .y_desc("seeds")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(font::text(12).color(&TEXT))
        .axis_desc_style(font::text(14).color(&TEXT))
        .light_line_style(WHITE)
        .draw()?;
    chart.draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| {
        let x0 = i as f64 * width;
        Rectangle::new([(x0, 0.0), (x0 + width, *c as f64)], BAR.mix(0.8).filled())
    }))?;
    for (k, (label, at_us)) in plot.marks.iter().enumerate() {
        let x = *at_us as f64 / 1000.0;
        chart.draw_series([PathElement::new(vec![(x, 0.0), (x, y_max)], MARK.stroke_width(2))])?;
        let y = y_max * (0.95 - 0.07 * k as f64);
        // Labels near the right edge go left of their line, to stay inside.
        let (side, text) = if x > x_max * 0.75 {
            (HPos::Right, format!("{label} {x:.1} ms "))
        } else {
            (HPos::Left, format!(" {label} {x:.1} ms"))
        };
        let style = font::text(12).color(&MARK).pos(Pos::new(side, VPos::Center));
        chart.draw_series([Text::new(text, (x, y), style)])?;
    }
    Ok(())
}

fn outcomes<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, plot: &SweepPlot) -> DrawResultOf<(), DB> {
    let rows = plot.outcomes.len().max(1);
    let x_max = plot.outcomes.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64 * 1.25;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(10)
        .caption("seeds by outcome and invariant", font::text(16).color(&TEXT))
        .build_cartesian_2d(0.0..x_max, 0.0..rows as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("seeds")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(font::text(12).color(&TEXT))
        .axis_desc_style(font::text(14).color(&TEXT))
        .light_line_style(WHITE)
        .draw()?;
    for (i, (label, n)) in plot.outcomes.iter().enumerate() {
        let top = (rows - i) as f64;
        let color = if label == "pass" { PASS } else { FAIL };
        chart.draw_series([Rectangle::new([(0.0, top - 0.2), (*n as f64, top - 0.8)], color.mix(0.75).filled())])?;
        let style = font::text(12).color(&TEXT).pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series([Text::new(format!("  {label}: {n}"), (0.0, top - 0.5), style)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_every_value() {
        let (width, counts) = bins(&[0, 1000, 40_000, 40_000]);
        assert_eq!(counts.iter().sum::<u64>(), 4);
        assert_eq!(counts[BINS - 1], 2, "the largest values land in the last bin");
        assert!((width - 1.0).abs() < 1e-9);
        assert_eq!(bins(&[]).1.iter().sum::<u64>(), 0);
    }

    #[test]
    fn draws_png_and_svg() {
        let dir = std::env::temp_dir().join(format!("restoresim-sweep-plot-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let plot = SweepPlot {
            title: "t  seeds 0..4".into(),
            completion_us: vec![80_000, 90_000, 120_000, 500_000],
            marks: vec![("p50".into(), 90_000), ("p99".into(), 500_000)],
            outcomes: vec![("pass".into(), 4), ("safety: 4-progress-monotonic".into(), 1)],
        };
        write_sweep_plot(&plot, &dir.join("s.png"), &dir.join("s.svg")).unwrap();
        assert_eq!(&fs::read(dir.join("s.png")).unwrap()[..4], b"\x89PNG");
        assert!(fs::read_to_string(dir.join("s.svg")).unwrap().contains("p50"));
        let _ = fs::remove_dir_all(&dir);
    }
}
