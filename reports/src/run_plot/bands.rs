//! Row panels of the run plot: coordinator state bands (one row per
//! operation) and, when faults are too many for lines, a tick strip of them.

use std::collections::BTreeSet;

use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::element::{EmptyElement, PathElement, Rectangle, Text};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, TextStyle};

use super::legend::{self, Entry, Swatch};
use super::look::{self, TEXT, Y_LABEL_W};
use super::panels::{self, Chart, FaultSplit, X_AXIS_H};
use super::series::Frame;
use super::{BandKind, DrawResult, RunPlot, StateBand};
use crate::font;

/// Band rows: each distinct `row`, in order of first appearance.
pub(super) fn rows(bands: &[StateBand]) -> Vec<&str> {
    let mut rows: Vec<&str> = Vec::new();
    for band in bands {
        if !rows.contains(&band.row.as_str()) {
            rows.push(&band.row);
        }
    }
    rows
}

/// Bottom panel: state bands per operation, with the time axis name.
pub(super) fn state_bands<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend_area: &DrawingArea<DB, Shift>,
    plot: &RunPlot,
    frame: &Frame,
) -> DrawResult<(), DB> {
    let rows = rows(&plot.bands);
    let count = rows.len().max(1) as f64;
    let mut chart = panels::chart(area, frame, 0.0..count, X_AXIS_H)?;
    panels::mesh(&mut chart, frame, "", 0, true)?;
    // Row `r` is drawn top-down: the first operation on top.
    let top = |r: usize| count - r as f64;
    let bands = plot.bands.iter().filter(|b| b.from_us <= frame.end_us);
    chart.draw_series(bands.clone().map(|band| {
        let r = rows.iter().position(|row| *row == band.row).unwrap_or(0);
        let (x0, x1) = (frame.x(band.from_us), frame.x(band.to_us.max(band.from_us)));
        let fill = look::band_color(band.kind).filled();
        Rectangle::new([(x0, top(r) - 0.1), (x1, top(r) - 0.9)], fill)
    }))?;
    let style = font::text(12).color(&TEXT);
    let row_px = chart.backend_coord(&(0.0, 0.0)).1 - chart.backend_coord(&(0.0, 1.0)).1;
    if row_px >= 13 {
        for band in bands {
            let r = rows.iter().position(|row| *row == band.row).unwrap_or(0);
            band_text(&mut chart, band, top(r) - 0.5, frame, &style)?;
        }
    }
    row_names(&mut chart, &rows, row_px, &style)?;
    panels::fault_lines(&mut chart, plot, frame)?;
    panels::mark_lines(&mut chart, plot, frame)?;
    let kinds: Vec<BandKind> =
        look::BAND_KINDS.into_iter().filter(|kind| plot.bands.iter().any(|b| b.kind == *kind)).collect();
    let entries: Vec<Entry> = kinds
        .into_iter()
        .map(|kind| {
            let label = format!("{} {}", look::band_abbrev(kind), look::band_name(kind));
            Entry::new(Swatch::Fill(look::band_color(kind).to_rgba()), label)
        })
        .collect();
    legend::draw(legend_area, &entries, 2)
}

/// Writes the longest name that fits inside the band: "Applying #2", else
/// "A2", else nothing.
fn band_text<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    band: &StateBand,
    y: f64,
    frame: &Frame,
    style: &TextStyle,
) -> DrawResult<(), DB> {
    let (x0, x1) = (frame.x(band.from_us), frame.x(band.to_us.max(band.from_us)));
    let width_px = chart.backend_coord(&(x1, y)).0 - chart.backend_coord(&(x0, y)).0;
    let (name, abbrev) = (look::band_name(band.kind), look::band_abbrev(band.kind));
    let candidates = if band.incremental > 0 {
        [format!("{name} #{}", band.incremental), format!("{abbrev}{}", band.incremental)]
    } else {
        [name.to_string(), abbrev.to_string()]
    };
    let area = chart.plotting_area().strip_coord_spec();
    for text in candidates {
        if area.estimate_text_size(&text, style)?.0 as i32 + 6 <= width_px {
            let centered = style.pos(Pos::new(HPos::Center, VPos::Center));
            let at = ((x0 + x1) / 2.0, y);
            return chart.plotting_area().draw(&Text::new(text, at, centered));
        }
    }
    Ok(())
}

/// Operation names left of their rows; with many thin rows only every k-th.
fn row_names<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    rows: &[&str],
    row_px: i32,
    style: &TextStyle,
) -> DrawResult<(), DB> {
    let stride = (14 / row_px.max(1)).max(1) as usize;
    let count = rows.len() as f64;
    let area = chart.plotting_area().strip_coord_spec();
    let right = style.pos(Pos::new(HPos::Right, VPos::Center));
    for (r, row) in rows.iter().enumerate().step_by(stride) {
        let name = legend::fit_text(&area, row, style, Y_LABEL_W as i32 - 14)?;
        let at = (0.0, count - r as f64 - 0.5);
        let label = EmptyElement::at(at) + Text::new(name, (-8, 0), right.clone());
        chart.plotting_area().draw(&label)?;
    }
    Ok(())
}

/// A strip of fault ticks, one sub-row per kind too numerous for lines. Ticks falling on the same pixel are drawn once,
/// which keeps the SVG small however many faults there were.
pub(super) fn fault_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &RunPlot,
    frame: &Frame,
) -> DrawResult<(), DB> {
    let kinds = FaultSplit::of(plot).strip;
    let count = kinds.len().max(1) as f64;
    let mut chart = panels::chart(area, frame, 0.0..count, 0)?;
    panels::mesh(&mut chart, frame, "", 0, false)?;
    let mut seen: BTreeSet<(usize, i32)> = BTreeSet::new();
    let mut ticks = Vec::new();
    for fault in plot.faults.iter().filter(|f| f.at_us <= frame.end_us) {
        let Some(r) = kinds.iter().position(|k| *k == fault.kind) else {
            continue;
        };
        let x = frame.x(fault.at_us);
        if seen.insert((r, chart.backend_coord(&(x, 0.0)).0)) {
            let y = count - r as f64;
            let color = look::fault_color(fault.kind).mix(0.8).stroke_width(1);
            ticks.push(PathElement::new(vec![(x, y - 0.15), (x, y - 0.85)], color));
        }
    }
    chart.draw_series(ticks)?;
    let names: Vec<&str> = kinds.iter().map(|k| look::fault_name(*k)).collect();
    let row_px = chart.backend_coord(&(0.0, 0.0)).1 - chart.backend_coord(&(0.0, 1.0)).1;
    row_names(&mut chart, &names, row_px, &font::text(12).color(&TEXT))
}
