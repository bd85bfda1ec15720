//! Legends, drawn by hand in the column right of each panel: plotters' own
//! series labels sit inside the plotting area, where they would hide data.

use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::element::{PathElement, Rectangle, Text};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBAColor, TextStyle};

use super::DrawResult;
use super::look::{MARGIN_TOP, TEXT};
use crate::font;

const ROW_H: i32 = 17;
const SWATCH_W: i32 = 26;
const PAD: i32 = 8;

#[derive(Clone, Debug)]
pub(super) enum Swatch {
    Line(RGBAColor, u32),
    Step(RGBAColor, u32),
    Fill(RGBAColor),
    /// A short vertical line, as fault markers are drawn.
    Tick(RGBAColor),
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub swatch: Swatch,
    pub label: String,
}

impl Entry {
    pub(super) fn new(swatch: Swatch, label: impl Into<String>) -> Entry {
        Entry { swatch, label: label.into() }
    }
}

/// Draws `entries` in `columns` columns from the top of `area`. When they do
/// not fit, the last visible row says how many were left out.
pub(super) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    columns: usize,
) -> DrawResult<(), DB> {
    let (width, height) = area.dim_in_pixel();
    let columns = columns.max(1);
    let rows_fit = ((height as i32 - MARGIN_TOP as i32 - PAD) / ROW_H).max(1) as usize;
    let capacity = rows_fit * columns;
    let shown = if entries.len() > capacity { capacity - 1 } else { entries.len() };
    let column_w = (width as i32 - PAD) / columns as i32;
    let style = font::text(12).color(&TEXT);
    for (index, entry) in entries.iter().take(shown).enumerate() {
        let x = PAD + (index / rows_fit) as i32 * column_w;
        let y = MARGIN_TOP as i32 + PAD + (index % rows_fit) as i32 * ROW_H;
        draw_swatch(area, &entry.swatch, x, y)?;
        let label_w = column_w - SWATCH_W - 10;
        let label = fit_text(area, &entry.label, &style, label_w)?;
        area.draw(&Text::new(label, (x + SWATCH_W + 6, y), style.pos(Pos::new(HPos::Left, VPos::Center))))?;
    }
    if shown < entries.len() {
        let index = shown;
        let x = PAD + (index / rows_fit) as i32 * column_w;
        let y = MARGIN_TOP as i32 + PAD + (index % rows_fit) as i32 * ROW_H;
        let more = format!("+{} more", entries.len() - shown);
        area.draw(&Text::new(more, (x + SWATCH_W + 6, y), style.pos(Pos::new(HPos::Left, VPos::Center))))?;
    }
    Ok(())
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: &Swatch,
    x: i32,
    y: i32,
) -> DrawResult<(), DB> {
    let right = x + SWATCH_W;
    match *swatch {
        Swatch::Line(color, width) => area.draw(&PathElement::new(vec![(x, y), (right, y)], color.stroke_width(width))),
        Swatch::Step(color, width) => area.draw(&PathElement::new(
            vec![(x, y + 4), (x + 12, y + 4), (x + 12, y - 4), (right, y - 4)],
            color.stroke_width(width),
        )),
        Swatch::Fill(color) => area.draw(&Rectangle::new([(x, y - 6), (right, y + 6)], color.filled())),
        Swatch::Tick(color) => area
            .draw(&PathElement::new(vec![(x + SWATCH_W / 2, y - 7), (x + SWATCH_W / 2, y + 7)], color.stroke_width(2))),
    }
}

/// `text`, shortened with an ellipsis until it is at most `max_px` wide.
pub(super) fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max_px: i32,
) -> DrawResult<String, DB> {
    let fits = |s: &str| -> DrawResult<bool, DB> { Ok(area.estimate_text_size(s, style)?.0 as i32 <= max_px) };
    if fits(text)? {
        return Ok(text.to_string());
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().chain(['…'].iter()).collect();
        if fits(&candidate)? {
            return Ok(candidate);
        }
    }
    Ok(String::new())
}
