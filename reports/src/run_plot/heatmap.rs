//! The per-shard panel for many shards: a heatmap of shard (y) × time (x)
//! coloured by percent, with a colour bar for a legend.

use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::element::{Rectangle, Text};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, WHITE};

use super::heat_bins::{self, HEAT_ROWS};
use super::look::{self, AXIS, MARGIN_TOP, TEXT};
use super::panels::{self, X_TICKS_H};
use super::series::{self, Frame, HEAT_LEVELS};
use super::{DrawResult, RunPlot};
use crate::font;

/// Time columns of the heatmap: fine enough to see phases, coarse enough
/// that a few hundred shards stay a few thousand rectangles.
pub(super) const HEAT_COLUMNS: usize = 200;

/// Shard `i` is row `i..i + 1`, shard 0 at the bottom; blank cells mean the
/// shard had reported nothing yet. Past [`HEAT_ROWS`] shards a row is a bin
/// of shards drawn over its shard-index range, showing its lowest shard
/// (see [`heat_bins`]), and the legend says so.
pub(super) fn heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend_area: &DrawingArea<DB, Shift>,
    plot: &RunPlot,
    frame: &Frame,
) -> DrawResult<(), DB> {
    let count = plot.shards.len().max(1);
    let mut chart = panels::chart(area, frame, 0.0..count as f64, X_TICKS_H)?;
    panels::mesh(&mut chart, frame, "shard index", 10, false)?;
    let column_x = |c: usize| frame.x_end * c as f64 / HEAT_COLUMNS as f64;
    let edges = heat_bins::column_edges(frame.end_us, HEAT_COLUMNS);
    let rows = heat_bins::heat_rows(&plot.shards, &edges, HEAT_ROWS);
    for row in &rows {
        let (y0, y1) = (row.first_shard as f64, row.end_shard as f64);
        let rects = series::runs(&row.cells).into_iter().map(|(from, to, level)| {
            let color = look::heat_color(f64::from(level) / f64::from(HEAT_LEVELS));
            Rectangle::new([(column_x(from), y0), (column_x(to), y1)], color.filled())
        });
        chart.draw_series(rects)?;
    }
    panels::fault_lines(&mut chart, plot, frame)?;
    panels::mark_lines(&mut chart, plot, frame)?;
    colour_bar(legend_area, heat_bins::shards_per_row(&rows))
}

/// A vertical 0..100 gradient with its scale, in the legend column; when
/// rows are bins, `binned` ("391 shards per row") and what a cell shows.
fn colour_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, binned: Option<String>) -> DrawResult<(), DB> {
    let (_, height) = area.dim_in_pixel();
    let style = font::text(12).color(&TEXT);
    let left = style.pos(Pos::new(HPos::Left, VPos::Center));
    let top = MARGIN_TOP as i32 + 26;
    let notes_h = if binned.is_some() { 36 } else { 0 };
    let bar_h = (height as i32 - top - 40 - notes_h).clamp(20, 200);
    let (x0, x1) = (12, 36);
    area.draw(&Text::new("shard percent", (x0, top - 14), left.clone()))?;
    let steps = i32::from(HEAT_LEVELS);
    for step in 0..steps {
        let y0 = top + bar_h * (steps - step - 1) / steps;
        let y1 = top + bar_h * (steps - step) / steps;
        let color = look::heat_color((f64::from(step) + 0.5) / f64::from(steps));
        area.draw(&Rectangle::new([(x0, y0), (x1, y1)], color.filled()))?;
    }
    area.draw(&Rectangle::new([(x0, top), (x1, top + bar_h)], AXIS))?;
    for (value, y) in [(100, top), (50, top + bar_h / 2), (0, top + bar_h)] {
        area.draw(&Text::new(value.to_string(), (x1 + 6, y), left.clone()))?;
    }
    let blank_y = top + bar_h + 20;
    area.draw(&Rectangle::new([(x0, blank_y - 6), (x1, blank_y + 6)], WHITE.filled()))?;
    area.draw(&Rectangle::new([(x0, blank_y - 6), (x1, blank_y + 6)], AXIS))?;
    if let Some(binned) = binned {
        area.draw(&Text::new("no data yet", (x1 + 6, blank_y), left.clone()))?;
        area.draw(&Text::new(format!("{binned}, lowest shown"), (x0, blank_y + 20), left.clone()))?;
        area.draw(&Text::new("(blank: one has no data yet)", (x0, blank_y + 36), left))
    } else {
        area.draw(&Text::new("no data yet", (x1 + 6, blank_y), left))
    }
}
