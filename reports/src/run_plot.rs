//! The progress plot of one run (docs/design.md §9): reported vs true durable
//! percent over virtual time, per-shard progress, coordinator state bands per
//! incremental, and fault markers.

mod bands;
mod heat_bins;
mod heatmap;
mod legend;
mod look;
mod panels;
mod series;

use std::fs::{self, File};
use std::path::Path;

use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::prelude::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::style::WHITE;

use crate::{ReportError, font};
use look::{HEIGHT, LEGEND_W, MARGIN_TOP, WIDTH};
use panels::X_AXIS_H;
use series::Frame;

/// What drawing on backend `DB` returns.
type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Everything the run plot shows, in plain numbers. Times are virtual µs.
#[derive(Clone, Debug, Default)]
pub struct RunPlot {
    /// Title line, e.g. "ci-smoke.ron  seed 7  pass".
    pub title: String,
    /// Right edge of the time axis.
    pub end_us: u64,
    /// Percent-complete curves (0..=100): what the Client saw through
    /// GetProgress, and the true durable progress computed from DataShards.
    pub percent: Vec<PercentSeries>,
    /// Per-shard durable progress (0..=100) over time.
    pub shards: Vec<ShardSeries>,
    /// Coordinator state bands (one row per operation).
    pub bands: Vec<StateBand>,
    /// Point faults: crashes, restarts, dropped messages, ...
    pub faults: Vec<FaultMarker>,
    /// Fault windows to shade (partitions, the fault window itself).
    pub windows: Vec<FaultWindow>,
    /// Labelled vertical lines across every panel: the violation that ended
    /// the run, the liveness deadline. A mark beyond `end_us` is drawn at
    /// the right edge (its label says when it was).
    pub marks: Vec<TimeMark>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// Where an invariant broke (labelled with the invariant).
    Violation,
    /// Where the liveness bound ran out (dashed).
    Deadline,
}

#[derive(Clone, Debug)]
pub struct TimeMark {
    pub at_us: u64,
    pub kind: MarkKind,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesKind {
    /// What the Client saw (step line: it only learns at poll times).
    Reported,
    /// The truth, from durable DataShard state.
    Durable,
}

/// One percent curve. The n-th `Reported` and the n-th `Durable` series
/// share a colour, so pass them per operation in the same order.
#[derive(Clone, Debug)]
pub struct PercentSeries {
    pub label: String,
    pub kind: SeriesKind,
    /// (time µs, percent 0..=100), time non-decreasing.
    pub points: Vec<(u64, f64)>,
}

#[derive(Clone, Debug)]
pub struct ShardSeries {
    pub label: String,
    /// (time µs, percent 0..=100), time non-decreasing.
    pub points: Vec<(u64, f64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandKind {
    Allocating,
    Proposing,
    Waiting,
    Applying,
    Done,
    Failed,
}

#[derive(Clone, Debug)]
pub struct StateBand {
    /// Which operation row the band belongs to, e.g. "op 1 (table orders)".
    pub row: String,
    pub from_us: u64,
    pub to_us: u64,
    pub kind: BandKind,
    /// 1-based incremental index the state belongs to (0 when none).
    pub incremental: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Crash,
    Restart,
    KillOnCommit,
    Drop,
    Duplicate,
    Other,
}

#[derive(Clone, Debug)]
pub struct FaultMarker {
    pub at_us: u64,
    pub kind: FaultKind,
    /// Short text, e.g. "DataShard 3".
    pub label: String,
}

#[derive(Clone, Debug)]
pub struct FaultWindow {
    pub from_us: u64,
    pub to_us: u64,
    pub label: String,
}

/// Up to this many shards get a line each; more become a heatmap.
pub const MAX_SHARD_LINES: usize = 16;

/// Draws `plot` into `png` and `svg` (1400 × 1000 px). The output is
/// byte-identical for identical input: the font is embedded and nothing reads
/// the clock. The PNG path must end in `.png` (the encoder picks the format
/// from it); parent directories must exist.
///
/// Lines are decimated to the pixel grid, so any number of points is
/// accepted; points must be in non-decreasing time order, and anything after
/// `end_us` is cut off.
pub fn write_run_plot(plot: &RunPlot, png: &Path, svg: &Path) -> Result<(), ReportError> {
    if !font::register() {
        return Err(draw_error(png, "the embedded DejaVu Sans font was rejected"));
    }
    let frame = Frame::new(plot);
    write_png(plot, &frame, png)?;
    write_svg(plot, &frame, svg)
}

fn write_png(plot: &RunPlot, frame: &Frame, path: &Path) -> Result<(), ReportError> {
    let is_png = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("png"));
    if !is_png {
        return Err(draw_error(path, "the PNG path must end in .png"));
    }
    // The encoder reports I/O failures as opaque image errors; creating the
    // file first reports the common ones (no directory, no permission) as
    // the io::Error they are.
    File::create(path).map_err(|source| ReportError::Io { path: path.to_path_buf(), source })?;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    render(&root, plot, frame).map_err(|e| draw_error(path, e))?;
    root.present().map_err(|e| draw_error(path, e))
}

fn write_svg(plot: &RunPlot, frame: &Frame, path: &Path) -> Result<(), ReportError> {
    // Rendered to a string and written by us, so write errors keep their
    // io::Error.
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        render(&root, plot, frame).map_err(|e| draw_error(path, e))?;
        root.present().map_err(|e| draw_error(path, e))?;
    }
    fs::write(path, text).map_err(|source| ReportError::Io { path: path.to_path_buf(), source })
}

fn draw_error(path: &Path, message: impl ToString) -> ReportError {
    ReportError::Draw { path: path.to_path_buf(), message: message.to_string() }
}

/// Lays out the panels top to bottom: title, percent, per-shard, the fault
/// tick strip when faults are many, state bands with the time axis. Each
/// panel has its legend column on the right.
fn render<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plot: &RunPlot, frame: &Frame) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let body = if plot.title.is_empty() {
        root.margin(8, 0, 0, 0)
    } else {
        root.titled(&plot.title, font::text(20).color(&look::TEXT))?
    };
    let (_, height) = body.dim_in_pixel();
    let strip_kinds = panels::FaultSplit::of(plot).strip.len() as u32;
    let strip_h = if strip_kinds > 0 { strip_kinds * 16 + MARGIN_TOP + 4 } else { 0 };
    let row_count = bands::rows(&plot.bands).len().max(1) as u32;
    let bands_h = (row_count * 26).min(260) + X_AXIS_H + MARGIN_TOP;
    let rest = height.saturating_sub(strip_h + bands_h);
    let percent_h = rest * 55 / 100;
    let (percent_row, below) = body.split_vertically(percent_h);
    let (shards_row, below) = below.split_vertically(rest - percent_h);
    let (strip_row, bands_row) = below.split_vertically(strip_h);
    let columns = |row: &DrawingArea<DB, Shift>| row.split_horizontally(WIDTH - LEGEND_W);
    let (percent, percent_legend) = columns(&percent_row);
    let (shards, shards_legend) = columns(&shards_row);
    let (strip, _) = columns(&strip_row);
    let (bands, bands_legend) = columns(&bands_row);
    panels::percent(&percent, &percent_legend, plot, frame)?;
    if plot.shards.len() <= MAX_SHARD_LINES {
        panels::shard_lines(&shards, &shards_legend, plot, frame)?;
    } else {
        heatmap::heatmap(&shards, &shards_legend, plot, frame)?;
    }
    if strip_h > 0 {
        bands::fault_strip(&strip, plot, frame)?;
    }
    bands::state_bands(&bands, &bands_legend, plot, frame)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A realistic run: two operations of three incrementals each, shards
    /// finishing at different rates, crashes with restarts, one partition.
    /// `extra_drops` adds evenly spaced message drops.
    fn sample(shard_count: usize, extra_drops: usize) -> RunPlot {
        let end_us: u64 = 12_000_000;
        let ops = [("op 1 (table orders)", 0, 7_000_000), ("op 2 (table items)", 2_000_000, 11_000_000)];
        let ramp = |t: u64, from: u64, to: u64| -> f64 {
            (t.saturating_sub(from) as f64 / (to - from) as f64 * 100.0).min(100.0)
        };
        let mut plot = RunPlot {
            title: format!("sample.ron  seed 7  pass  ({shard_count} shards)"),
            end_us,
            ..RunPlot::default()
        };
        for (label, from, to) in ops {
            let durable = (0..=end_us / 50_000).map(|i| (i * 50_000, ramp(i * 50_000, from, to)));
            let reported = (0..=end_us / 700_000).map(|i| {
                let t = i * 700_000;
                (t, (ramp(t, from, to) / 10.0).floor() * 10.0)
            });
            plot.percent.push(PercentSeries {
                label: format!("{label} reported"),
                kind: SeriesKind::Reported,
                points: reported.collect(),
            });
            plot.percent.push(PercentSeries {
                label: format!("{label} durable"),
                kind: SeriesKind::Durable,
                points: durable.collect(),
            });
            for incremental in 1..=3u32 {
                let part = (to - from) / 3;
                let start = from + part * u64::from(incremental - 1);
                let phases = [
                    (BandKind::Allocating, 0, 5),
                    (BandKind::Proposing, 5, 15),
                    (BandKind::Waiting, 15, 30),
                    (BandKind::Applying, 30, 100),
                ];
                for (kind, a, b) in phases {
                    plot.bands.push(StateBand {
                        row: label.to_string(),
                        from_us: start + part * a / 100,
                        to_us: start + part * b / 100,
                        kind,
                        incremental,
                    });
                }
            }
            plot.bands.push(StateBand {
                row: label.to_string(),
                from_us: to,
                to_us: end_us,
                kind: BandKind::Done,
                incremental: 0,
            });
        }
        for s in 0..shard_count as u64 {
            let finish = 1_000_000 + 9_000_000 * (3 + s % 7) / 10;
            let points = (0..=end_us / 100_000).map(|i| {
                let t = i * 100_000;
                (t, ramp(t, 500_000, finish))
            });
            plot.shards.push(ShardSeries { label: format!("DataShard {}", s + 1), points: points.collect() });
        }
        for (at_us, shard) in [(3_100_000, 2), (6_400_000, 5), (8_800_000, 1)] {
            let label = format!("DataShard {shard}");
            plot.faults.push(FaultMarker { at_us, kind: FaultKind::Crash, label: label.clone() });
            let at_us = at_us + 400_000;
            plot.faults.push(FaultMarker { at_us, kind: FaultKind::Restart, label });
        }
        for i in 0..extra_drops as u64 {
            let at_us = end_us * i / extra_drops as u64;
            plot.faults.push(FaultMarker { at_us, kind: FaultKind::Drop, label: String::new() });
        }
        plot.windows.push(FaultWindow { from_us: 4_000_000, to_us: 5_000_000, label: "partition".to_string() });
        plot
    }

    /// A path in the temp dir unique to this process and `name`.
    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("restoresim-run-plot-{}-{name}", std::process::id()))
    }

    /// Renders `plot` and returns the PNG and SVG bytes; removes the files.
    fn render_bytes(plot: &RunPlot, name: &str) -> (Vec<u8>, String) {
        let (png, svg) = (temp_path(&format!("{name}.png")), temp_path(&format!("{name}.svg")));
        write_run_plot(plot, &png, &svg).unwrap();
        let bytes = (fs::read(&png).unwrap(), fs::read_to_string(&svg).unwrap());
        fs::remove_file(&png).unwrap();
        fs::remove_file(&svg).unwrap();
        bytes
    }

    fn assert_rendered((png, svg): &(Vec<u8>, String), title: &str) {
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG magic");
        assert!(svg.contains("<svg"), "an SVG document");
        assert!(svg.contains(title), "the title is laid out as text");
    }

    /// A hundred thousand shards, each finishing at its own time, bin into
    /// at most HEAT_ROWS rows: the SVG stays well under 2 MB (about 110 KB; one row per shard made
    /// 35 MB here) and the legend says rows are bins.
    #[test]
    fn many_shards_bin_into_a_small_svg() {
        let end_us: u64 = 10_000_000;
        let mut plot = RunPlot { title: "100000 shards".into(), end_us, ..RunPlot::default() };
        plot.shards = (0..100_000u64)
            .map(|s| {
                // A spread of finishing times, scrambled across shard indexes
                // so every bin has shards at different percents.
                let finish = 2_000_000 + (s * 7_919 % 1_000) * 7_000;
                let points = vec![(0, 0.0), (finish / 3, 20.0), (finish * 2 / 3, 70.0), (finish, 100.0)];
                ShardSeries { label: format!("DataShard {s}"), points }
            })
            .collect();
        let rendered = render_bytes(&plot, "many-shards");
        assert_rendered(&rendered, "100000 shards");
        let svg_bytes = rendered.1.len();
        assert!(svg_bytes < 2_000_000, "SVG of {svg_bytes} bytes for 100000 shards");
        assert!(rendered.1.contains("390–391 shards per row"), "the legend says rows are bins");
    }

    /// Few shards are drawn as lines, many as a heatmap; both render.
    #[test]
    fn renders_lines_and_heatmap() {
        for (shards, name) in [(3, "lines"), (100, "heatmap")] {
            let plot = sample(shards, 0);
            assert_rendered(&render_bytes(&plot, name), "seed 7");
        }
    }

    /// Identical input gives identical bytes, PNG and SVG.
    #[test]
    fn output_is_deterministic() {
        for (shards, drops) in [(8, 0), (100, 500)] {
            let plot = sample(shards, drops);
            let first = render_bytes(&plot, &format!("det-a-{shards}"));
            let second = render_bytes(&plot, &format!("det-b-{shards}"));
            assert!(first.0 == second.0, "PNG differs for {shards} shards");
            assert!(first.1 == second.1, "SVG differs for {shards} shards");
        }
    }

    /// Degenerate input renders without panicking.
    #[test]
    fn edge_cases_render() {
        let point = |points: Vec<(u64, f64)>| PercentSeries {
            label: "reported".to_string(),
            kind: SeriesKind::Reported,
            points,
        };
        let many_faults = sample(8, 1_000);
        let table = [
            ("empty", RunPlot::default()),
            ("single", RunPlot { percent: vec![point(vec![(5, 50.0)])], ..RunPlot::default() }),
            (
                "unclamped",
                RunPlot {
                    end_us: 1_000,
                    percent: vec![point(vec![(0, -20.0), (500, 250.0), (2_000, 50.0)])],
                    shards: vec![ShardSeries { label: "s".into(), points: vec![(10, 1e9)] }],
                    bands: vec![StateBand {
                        row: "op".into(),
                        from_us: 900,
                        to_us: 5_000,
                        kind: BandKind::Failed,
                        incremental: 0,
                    }],
                    ..RunPlot::default()
                },
            ),
            ("many-faults", many_faults),
        ];
        for (name, plot) in table {
            let (png, svg) = render_bytes(&plot, &format!("edge-{name}"));
            assert!(png.starts_with(b"\x89PNG") && svg.contains("<svg"), "{name}");
        }
    }

    /// Failures name the path: I/O as Io, a wrong PNG extension as Draw.
    #[test]
    fn errors_name_the_path() {
        let plot = sample(2, 0);
        let missing = temp_path("no-such-dir").join("plot.png");
        let svg = temp_path("errors.svg");
        let err = write_run_plot(&plot, &missing, &svg).unwrap_err();
        assert!(matches!(&err, ReportError::Io { path, .. } if *path == missing), "{err}");
        let wrong = temp_path("plot.bmp");
        let err = write_run_plot(&plot, &wrong, &svg).unwrap_err();
        assert!(matches!(&err, ReportError::Draw { path, .. } if *path == wrong), "{err}");
    }

    /// Writes the example plot for eyeballing:
    /// `cargo test -p restoresim-reports -- --ignored write_example`.
    #[test]
    #[ignore = "writes /tmp/example_run_plot.png for a human to look at"]
    fn write_example() {
        let dir = std::env::temp_dir();
        let (png, svg) = (dir.join("example_run_plot.png"), dir.join("example_run_plot.svg"));
        write_run_plot(&sample(8, 0), &png, &svg).unwrap();
        let (png, svg) = (dir.join("example_heatmap.png"), dir.join("example_heatmap.svg"));
        write_run_plot(&sample(100, 500), &png, &svg).unwrap();
    }
}
