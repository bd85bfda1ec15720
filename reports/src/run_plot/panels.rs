//! The line panels of the run plot (percent, per-shard lines) and what every
//! panel shares: the chart frame on the common time axis and the fault lines.

use std::ops::Range;

use plotters::chart::{ChartBuilder, ChartContext};
use plotters::coord::Shift;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::types::RangedCoordf64;
use plotters::drawing::DrawingArea;
use plotters::element::{EmptyElement, PathElement, Rectangle, Text};
use plotters::prelude::DrawingBackend;
use plotters::series::LineSeries;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontTransform, RGBAColor};

use super::legend::{self, Entry, Swatch};
use super::look::{self, AXIS, GRID, MARGIN_RIGHT, MARGIN_TOP, TEXT, WINDOW_FILL, Y_LABEL_W};
use super::series::{self, Frame};
use super::{DrawResult, FaultKind, MarkKind, RunPlot, SeriesKind};
use crate::font;

pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Height of the x label area of panels that show tick labels only.
pub(super) const X_TICKS_H: u32 = 24;
/// Height of the x label area of the bottom panel: ticks and axis name.
pub(super) const X_AXIS_H: u32 = 48;
/// Up to this many point faults are drawn as lines across the panels; more
/// would paint the panels over, so the most numerous kinds go to a tick strip.
pub(super) const MAX_FAULT_LINES: usize = 200;
/// Up to this many fault lines carry their label.
const MAX_FAULT_LABELS: usize = 30;

/// The y range of percent panels: a little beyond 0..100, so lines lying on
/// 0 or 100 are not hidden by the frame.
const PERCENT_Y: Range<f64> = -2.0..102.0;

/// A chart on the shared time axis. Every panel uses the same label area
/// widths and margins, so their x axes line up.
pub(super) fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    frame: &Frame,
    y: Range<f64>,
    x_label_h: u32,
) -> DrawResult<Chart<'a, DB>, DB> {
    ChartBuilder::on(area)
        .margin_top(MARGIN_TOP)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(x_label_h)
        .y_label_area_size(Y_LABEL_W)
        .build_cartesian_2d(0.0..frame.x_end, y)
}

/// Grid, axes, tick labels and the axis names. `y_labels == 0` hides the y
/// ticks for panels that label their rows themselves.
pub(super) fn mesh<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    frame: &Frame,
    y_desc: &str,
    y_labels: usize,
    x_desc: bool,
) -> DrawResult<(), DB> {
    let x_fmt = |x: &f64| frame.tick_label(x);
    let y_fmt = |y: &f64| format!("{y:.0}");
    let x_name = format!("virtual time ({})", frame.unit);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(12)
        .y_labels(y_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font::text(12).color(&TEXT))
        .axis_desc_style(font::text(14).color(&TEXT))
        .axis_style(AXIS)
        .bold_line_style(GRID)
        .light_line_style(RGBAColor(0, 0, 0, 0.0));
    if y_labels == 0 {
        mesh.disable_y_mesh();
    }
    if x_desc {
        mesh.x_desc(x_name);
    }
    mesh.draw()?;
    if y_desc.is_empty() {
        return Ok(());
    }
    // Drawn by hand next to the tick labels: plotters puts the name at the
    // far edge of the (wide, shared) label area.
    let y = chart.y_range();
    let style =
        font::text(14).color(&TEXT).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Center));
    let at = (0.0, (y.start + y.end) / 2.0);
    let name = EmptyElement::at(at) + Text::new(y_desc.to_string(), (-48, 0), style);
    chart.plotting_area().draw(&name)
}

/// Which fault kinds are drawn as lines across the panels and which, being
/// too many, as ticks on a strip. Kinds are taken in the legend order
/// (crashes first) while the lines stay within `MAX_FAULT_LINES`.
#[derive(Clone, Debug, Default)]
pub(super) struct FaultSplit {
    pub lines: Vec<FaultKind>,
    pub strip: Vec<FaultKind>,
}

impl FaultSplit {
    pub(super) fn of(plot: &RunPlot) -> FaultSplit {
        let mut split = FaultSplit::default();
        let mut lines = 0;
        for kind in fault_kinds(plot) {
            let count = plot.faults.iter().filter(|f| f.kind == kind).count();
            if split.strip.is_empty() && lines + count <= MAX_FAULT_LINES {
                lines += count;
                split.lines.push(kind);
            } else {
                split.strip.push(kind);
            }
        }
        split
    }
}

/// Vertical lines at each fault across the y range of `chart`.
pub(super) fn fault_lines<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    plot: &RunPlot,
    frame: &Frame,
) -> DrawResult<(), DB> {
    let y = chart.y_range();
    let split = FaultSplit::of(plot);
    let lines = plot.faults.iter().filter(|f| f.at_us <= frame.end_us && split.lines.contains(&f.kind)).map(|f| {
        let x = frame.x(f.at_us);
        let color = look::fault_color(f.kind).mix(0.6);
        PathElement::new(vec![(x, y.start), (x, y.end)], color.stroke_width(1))
    });
    chart.draw_series(lines)?;
    Ok(())
}

/// The marks (violation, liveness deadline) as vertical lines across the
/// y range of `chart`; a mark beyond the axis sits on its right edge. The
/// deadline is dashed.
pub(super) fn mark_lines<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    plot: &RunPlot,
    frame: &Frame,
) -> DrawResult<(), DB> {
    let y = chart.y_range();
    for mark in &plot.marks {
        let x = frame.x(mark.at_us.min(frame.end_us));
        let style = look::mark_color(mark.kind).stroke_width(2);
        let dashes = match mark.kind {
            MarkKind::Violation => 1,
            MarkKind::Deadline => 24,
        };
        let step = (y.end - y.start) / f64::from(dashes);
        let segments = (0..dashes).map(|i| {
            let from = y.start + step * f64::from(i);
            let to = if dashes == 1 { y.end } else { from + step * 0.6 };
            PathElement::new(vec![(x, from), (x, to)], style)
        });
        chart.draw_series(segments)?;
    }
    Ok(())
}

/// Each mark's label, horizontal, just under the top of the percent panel,
/// left of its line when the line is in the right half.
fn mark_labels<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, plot: &RunPlot, frame: &Frame) -> DrawResult<(), DB> {
    for (i, mark) in plot.marks.iter().enumerate() {
        let x = frame.x(mark.at_us.min(frame.end_us));
        let right_half = x > frame.x_end / 2.0;
        let h = if right_half { HPos::Right } else { HPos::Left };
        let color = look::mark_color(mark.kind);
        let style = font::text(12).color(&color).pos(Pos::new(h, VPos::Top));
        let dx = if right_half { -5 } else { 5 };
        let at = EmptyElement::at((x, PERCENT_Y.end)) + Text::new(mark.label.clone(), (dx, 4 + 16 * i as i32), style);
        chart.plotting_area().draw(&at)?;
    }
    Ok(())
}

/// The fault kinds present in `plot`, in the fixed legend order.
pub(super) fn fault_kinds(plot: &RunPlot) -> Vec<FaultKind> {
    look::FAULT_KINDS.into_iter().filter(|kind| plot.faults.iter().any(|f| f.kind == *kind)).collect()
}

/// Top panel: reported (step) and durable (line) percent, fault windows
/// shaded, fault lines with their labels while they are few.
pub(super) fn percent<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend_area: &DrawingArea<DB, Shift>,
    plot: &RunPlot,
    frame: &Frame,
) -> DrawResult<(), DB> {
    let mut chart = chart(area, frame, PERCENT_Y, X_TICKS_H)?;
    mesh(&mut chart, frame, "percent", 6, false)?;
    let windows = plot.windows.iter().filter(|w| w.from_us <= frame.end_us);
    chart.draw_series(windows.map(|w| {
        let (x0, x1) = (frame.x(w.from_us), frame.x(w.to_us.max(w.from_us)));
        Rectangle::new([(x0, PERCENT_Y.start), (x1, PERCENT_Y.end)], WINDOW_FILL.filled())
    }))?;
    window_labels(&mut chart, plot, frame)?;
    fault_lines(&mut chart, plot, frame)?;
    fault_labels(&mut chart, plot, frame)?;
    mark_lines(&mut chart, plot, frame)?;
    mark_labels(&mut chart, plot, frame)?;
    // The n-th series of each kind; durable first, so steps are on top.
    let nth = |index: usize| {
        let kind = plot.percent[index].kind;
        plot.percent[..index].iter().filter(|s| s.kind == kind).count()
    };
    let mut entries = Vec::new();
    for kind in [SeriesKind::Durable, SeriesKind::Reported] {
        for (index, s) in plot.percent.iter().enumerate().filter(|(_, s)| s.kind == kind) {
            let color = look::series_color(nth(index), kind);
            let points = match kind {
                SeriesKind::Reported => series::step_points(&s.points, frame),
                SeriesKind::Durable => series::line_points(&s.points, frame),
            };
            let style = color.stroke_width(look::series_width(kind));
            chart.draw_series(LineSeries::new(points, style))?;
        }
    }
    for (index, s) in plot.percent.iter().enumerate() {
        let color = look::series_color(nth(index), s.kind).to_rgba();
        let width = look::series_width(s.kind);
        let swatch = match s.kind {
            SeriesKind::Reported => Swatch::Step(color, width),
            SeriesKind::Durable => Swatch::Line(color, width),
        };
        entries.push(Entry::new(swatch, s.label.clone()));
    }
    for kind in fault_kinds(plot) {
        let color = look::fault_color(kind).mix(0.8);
        entries.push(Entry::new(Swatch::Tick(color), look::fault_name(kind)));
    }
    if !plot.windows.is_empty() {
        entries.push(Entry::new(Swatch::Fill(WINDOW_FILL), "fault window"));
    }
    for mark in &plot.marks {
        let name = match mark.kind {
            MarkKind::Violation => "violation",
            MarkKind::Deadline => "liveness deadline",
        };
        entries.push(Entry::new(Swatch::Tick(look::mark_color(mark.kind).to_rgba()), name));
    }
    legend::draw(legend_area, &entries, 1)
}

/// Each fault window's label, inside it at the bottom, where it fits.
fn window_labels<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, plot: &RunPlot, frame: &Frame) -> DrawResult<(), DB> {
    let style = font::text(12).color(&look::WINDOW_TEXT);
    let area = chart.plotting_area().strip_coord_spec();
    for window in plot.windows.iter().filter(|w| w.from_us <= frame.end_us) {
        let (x0, x1) = (frame.x(window.from_us), frame.x(window.to_us.max(window.from_us)));
        let width_px = chart.backend_coord(&(x1, 0.0)).0 - chart.backend_coord(&(x0, 0.0)).0;
        let label = legend::fit_text(&area, &window.label, &style, width_px - 6)?;
        if label.is_empty() {
            continue;
        }
        let at = EmptyElement::at((x0, PERCENT_Y.start));
        let text = Text::new(label, (3, -4), style.pos(Pos::new(HPos::Left, VPos::Bottom)));
        chart.plotting_area().draw(&(at + text))?;
    }
    Ok(())
}

/// Short labels along the top of the percent panel. Lines closer than a
/// label's height share one label naming them all ("DataShard3, SchemeShard"),
/// so no crash, restart or kill goes unlabelled; when the lines are many,
/// only those of crashes, restarts and kills are labelled.
fn fault_labels<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, plot: &RunPlot, frame: &Frame) -> DrawResult<(), DB> {
    let split = FaultSplit::of(plot);
    let mut faults: Vec<_> =
        plot.faults.iter().filter(|f| f.at_us <= frame.end_us && split.lines.contains(&f.kind)).collect();
    if faults.len() > MAX_FAULT_LABELS {
        faults.retain(|f| matches!(f.kind, FaultKind::Crash | FaultKind::Restart | FaultKind::KillOnCommit));
    }
    faults.retain(|f| !f.label.is_empty());
    faults.sort_by_key(|f| f.at_us);
    // (first line's pixel, its x, the faults it labels)
    type Group<'f> = (i32, f64, Vec<(FaultKind, &'f str)>);
    let mut groups: Vec<Group> = Vec::new();
    for fault in faults {
        let x = frame.x(fault.at_us);
        let px = chart.backend_coord(&(x, 0.0)).0;
        let entry = (fault.kind, fault.label.as_str());
        match groups.last_mut() {
            Some((last_px, _, names)) if px - *last_px < 13 => {
                if !names.contains(&entry) {
                    names.push(entry);
                }
            }
            _ => groups.push((px, x, vec![entry])),
        }
    }
    for (_, x, mut names) in groups {
        // Crashes, restarts and kills first: they are always named.
        names.sort_by_key(|(kind, _)| !is_lifecycle(*kind));
        let color = look::fault_color(names[0].0);
        let style =
            font::text(12).color(&color).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Right, VPos::Bottom));
        chart.plotting_area().draw(&Text::new(group_label(&names), (x, PERCENT_Y.end), style))?;
    }
    Ok(())
}

fn is_lifecycle(kind: FaultKind) -> bool {
    matches!(kind, FaultKind::Crash | FaultKind::Restart | FaultKind::KillOnCommit)
}

/// Characters a rotated label may take before it leaves the percent panel.
const LABEL_CHARS: usize = 44;

/// One label for close fault lines: every crash, restart and kill by name,
/// then other faults while they fit, then how many more.
fn group_label(names: &[(FaultKind, &str)]) -> String {
    let mut label = String::new();
    let mut more = 0;
    for (kind, name) in names {
        let sep = if label.is_empty() { 0 } else { 2 };
        if is_lifecycle(*kind) || label.chars().count() + sep + name.chars().count() <= LABEL_CHARS {
            if sep > 0 {
                label.push_str(", ");
            }
            label.push_str(name);
        } else {
            more += 1;
        }
    }
    if more > 0 {
        label.push_str(&format!(" +{more}"));
    }
    label
}

/// Middle panel for few shards: one thin line each, legend on the right.
pub(super) fn shard_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend_area: &DrawingArea<DB, Shift>,
    plot: &RunPlot,
    frame: &Frame,
) -> DrawResult<(), DB> {
    let mut chart = chart(area, frame, PERCENT_Y, X_TICKS_H)?;
    mesh(&mut chart, frame, "shard percent", 6, false)?;
    fault_lines(&mut chart, plot, frame)?;
    if plot.shards.is_empty() {
        let style = font::text(14).color(&AXIS).pos(Pos::new(HPos::Center, VPos::Center));
        let center = (frame.x_end / 2.0, 50.0);
        chart.plotting_area().draw(&Text::new("no per-shard data", center, style))?;
    }
    let mut entries = Vec::new();
    for (index, shard) in plot.shards.iter().enumerate() {
        let color = look::shard_color(index).to_rgba();
        let points = series::line_points(&shard.points, frame);
        chart.draw_series(LineSeries::new(points, color.stroke_width(1)))?;
        entries.push(Entry::new(Swatch::Line(color, 2), shard.label.clone()));
    }
    legend::draw(legend_area, &entries, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FaultMarker;

    /// (faults per kind, kinds drawn as lines, kinds on the strip)
    type Case = (&'static [(FaultKind, usize)], &'static [FaultKind], &'static [FaultKind]);

    /// Few kinds keep their lines; the kind that would overflow the budget,
    /// and every kind after it, goes to the strip.
    #[test]
    fn a_group_label_names_every_crash_and_counts_the_rest() {
        let names = [
            (FaultKind::Drop, "DataShard0→SchemeShard"),
            (FaultKind::Drop, "DataShard5→SchemeShard"),
            (FaultKind::Crash, "DataShard3"),
            (FaultKind::Restart, "SchemeShard"),
        ];
        let mut sorted = names.to_vec();
        sorted.sort_by_key(|(kind, _)| !is_lifecycle(*kind));
        assert_eq!(group_label(&sorted), "DataShard3, SchemeShard +2");
        assert_eq!(group_label(&sorted[2..3]), "DataShard0→SchemeShard");
    }

    #[test]
    fn fault_split_keeps_crashes_as_lines() {
        use FaultKind::{Crash, Drop, Restart};
        let table: [Case; 3] = [
            (&[(Crash, 3), (Restart, 3)], &[Crash, Restart], &[]),
            (&[(Crash, 3), (Drop, 500), (Restart, 3)], &[Crash, Restart], &[Drop]),
            (&[(Crash, 250), (Restart, 3)], &[], &[Crash, Restart]),
        ];
        for (counts, lines, strip) in table {
            let mut plot = RunPlot::default();
            for &(kind, count) in counts {
                let marker = FaultMarker { at_us: 1, kind, label: String::new() };
                plot.faults.extend(std::iter::repeat_n(marker, count));
            }
            let split = FaultSplit::of(&plot);
            assert_eq!((split.lines.as_slice(), split.strip.as_slice()), (lines, strip));
        }
    }
}
