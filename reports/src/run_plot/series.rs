//! Pure data preparation for the run plot: the time axis, percent clamping,
//! step lines, decimation to the pixel grid, and heatmap levels and runs. Nothing
//! here draws, so all of it is tested without a backend.

use super::RunPlot;

/// Width of the plotting area in pixels (approximately); decimation keeps at
/// most four points per pixel column, which is all a line can show.
pub(super) const PIXEL_COLUMNS: usize = 1200;

/// The shared x axis: virtual time in a readable unit.
#[derive(Clone, Debug)]
pub(super) struct Frame {
    /// Right edge of the axis in µs (never 0).
    pub end_us: u64,
    /// µs per display unit.
    pub scale_us: f64,
    /// Display unit name, for the axis label.
    pub unit: &'static str,
    /// Right edge in display units.
    pub x_end: f64,
    /// Decimals shown on tick labels.
    decimals: usize,
}

impl Frame {
    /// The axis for `plot`: `end_us`, or the last data time when `end_us` is
    /// 0, or 1 µs when there is no data at all (a zero-width axis would make
    /// every coordinate NaN).
    pub(super) fn new(plot: &RunPlot) -> Frame {
        let end_us = if plot.end_us > 0 { plot.end_us } else { last_time_us(plot).max(1) };
        let (scale_us, unit) = match end_us {
            0..2_000 => (1.0, "µs"),
            2_000..2_000_000 => (1_000.0, "ms"),
            _ => (1_000_000.0, "s"),
        };
        let x_end = end_us as f64 / scale_us;
        // About a dozen ticks: whole units from 10 up, tenths from 1.
        let decimals = if x_end >= 10.0 {
            0
        } else if x_end >= 1.0 {
            1
        } else {
            2
        };
        Frame { end_us, scale_us, unit, x_end, decimals }
    }

    pub(super) fn x(&self, t_us: u64) -> f64 {
        t_us.min(self.end_us) as f64 / self.scale_us
    }

    pub(super) fn tick_label(&self, x: &f64) -> String {
        format!("{:.*}", self.decimals, x)
    }
}

fn last_time_us(plot: &RunPlot) -> u64 {
    let points = plot
        .percent
        .iter()
        .flat_map(|s| s.points.last())
        .chain(plot.shards.iter().flat_map(|s| s.points.last()))
        .map(|p| p.0);
    let bands = plot.bands.iter().map(|b| b.to_us.max(b.from_us));
    let faults = plot.faults.iter().map(|f| f.at_us);
    let windows = plot.windows.iter().map(|w| w.to_us.max(w.from_us));
    points.chain(bands).chain(faults).chain(windows).max().unwrap_or(0)
}

/// Percent into 0..=100; NaN (which callers should not send) becomes 0.
pub(super) fn clamp_percent(value: f64) -> f64 {
    if value.is_nan() { 0.0 } else { value.clamp(0.0, 100.0) }
}

/// A plain line: points up to the axis end, clamped and decimated.
pub(super) fn line_points(points: &[(u64, f64)], frame: &Frame) -> Vec<(f64, f64)> {
    let kept: Vec<(f64, f64)> =
        points.iter().filter(|p| p.0 <= frame.end_us).map(|&(t, v)| (frame.x(t), clamp_percent(v))).collect();
    decimate(&kept, frame.x_end, PIXEL_COLUMNS)
}

/// A step line: each value holds until the next point, and the last one
/// until the axis end (the Client keeps showing what it last saw).
pub(super) fn step_points(points: &[(u64, f64)], frame: &Frame) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len() * 2 + 1);
    for &(t, v) in points.iter().filter(|p| p.0 <= frame.end_us) {
        let (x, y) = (frame.x(t), clamp_percent(v));
        if let Some(&(_, held)) = out.last() {
            out.push((x, held));
        }
        out.push((x, y));
    }
    if let Some(&(x, held)) = out.last()
        && x < frame.x_end
    {
        out.push((frame.x_end, held));
    }
    decimate(&out, frame.x_end, PIXEL_COLUMNS)
}

/// M4 decimation: within each of `columns` equal slices of `0..x_end`, keeps
/// the first, lowest, highest and last point, in their original order. A line
/// drawn through them covers exactly the pixels the full line would, while
/// the SVG stays small however long the run was.
pub(super) fn decimate(points: &[(f64, f64)], x_end: f64, columns: usize) -> Vec<(f64, f64)> {
    if points.len() <= 4 * columns || x_end <= 0.0 {
        return points.to_vec();
    }
    let column = |x: f64| ((x / x_end) * columns as f64).floor() as i64;
    let mut out = Vec::with_capacity(4 * columns + 4);
    let mut start = 0;
    while start < points.len() {
        let col = column(points[start].0);
        let (mut low, mut high, mut end) = (start, start, start + 1);
        while end < points.len() && column(points[end].0) == col {
            if points[end].1 < points[low].1 {
                low = end;
            }
            if points[end].1 > points[high].1 {
                high = end;
            }
            end += 1;
        }
        let mut keep = [start, low, high, end - 1];
        keep.sort_unstable();
        let mut previous = None;
        for index in keep {
            if previous != Some(index) {
                out.push(points[index]);
                previous = Some(index);
            }
        }
        start = end;
    }
    out
}

/// Heatmap levels: 0..=50, i.e. percent in steps of 2, coarse enough that
/// runs of equal colour merge into one rectangle.
pub(super) const HEAT_LEVELS: u8 = 50;

/// The heatmap level of `percent`.
pub(super) fn level(percent: f64) -> u8 {
    (clamp_percent(percent) * f64::from(HEAT_LEVELS) / 100.0).round() as u8
}

/// Merges equal neighbours: (first column, one past the last, level).
pub(super) fn runs(cells: &[Option<u8>]) -> Vec<(usize, usize, u8)> {
    let mut out: Vec<(usize, usize, u8)> = Vec::new();
    for (column, cell) in cells.iter().enumerate() {
        let Some(level) = *cell else { continue };
        match out.last_mut() {
            Some(run) if run.1 == column && run.2 == level => run.1 = column + 1,
            _ => out.push((column, column + 1, level)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(end_us: u64) -> Frame {
        Frame::new(&RunPlot { end_us, ..RunPlot::default() })
    }

    /// The unit follows the length of the run, and an empty run still has a
    /// non-empty axis.
    #[test]
    fn frame_picks_readable_units() {
        let table = [(0, "µs", 1.0), (1_500, "µs", 1_500.0), (250_000, "ms", 250.0), (90_000_000, "s", 90.0)];
        for (end_us, unit, x_end) in table {
            let frame = frame(end_us);
            assert_eq!((frame.unit, frame.x_end), (unit, x_end), "end_us {end_us}");
        }
    }

    #[test]
    fn percent_is_clamped() {
        let table = [(-5.0, 0.0), (42.5, 42.5), (130.0, 100.0), (f64::NAN, 0.0)];
        for (input, output) in table {
            assert_eq!(clamp_percent(input), output, "{input}");
        }
    }

    /// A step line holds each value until the next point and to the end.
    #[test]
    fn step_line_holds_values() {
        let frame = frame(10_000);
        let points = step_points(&[(0, 0.0), (4_000, 50.0), (20_000, 90.0)], &frame);
        let expected = [(0.0, 0.0), (4.0, 0.0), (4.0, 50.0), (10.0, 50.0)];
        assert_eq!(points, expected);
        assert!(step_points(&[], &frame).is_empty());
    }

    /// Decimation keeps the extremes of every column and bounds the output.
    #[test]
    fn decimation_keeps_extremes() {
        let points: Vec<(f64, f64)> =
            (0..100_000).map(|i| (f64::from(i) / 100.0, if i == 54_321 { 100.0 } else { 1.0 })).collect();
        let out = decimate(&points, 1_000.0, 100);
        assert!(out.len() <= 400, "{}", out.len());
        assert!(out.contains(&(543.21, 100.0)));
        assert_eq!(out.first(), points.first());
        assert_eq!(out.last(), points.last());
    }
}
