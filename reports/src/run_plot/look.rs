//! Colours, names and sizes of the run plot, in one place so the panels and
//! their legends cannot disagree.

use plotters::style::{RGBAColor, RGBColor};

use super::{BandKind, FaultKind, MarkKind, SeriesKind};

pub(super) const WIDTH: u32 = 1400;
pub(super) const HEIGHT: u32 = 1000;
/// Left label area of every panel: the same width everywhere keeps the time
/// axes of the stacked panels aligned pixel for pixel.
pub(super) const Y_LABEL_W: u32 = 150;
/// The legend column right of every panel.
pub(super) const LEGEND_W: u32 = 220;
pub(super) const MARGIN_RIGHT: u32 = 14;
pub(super) const MARGIN_TOP: u32 = 8;

pub(super) const GRID: RGBAColor = RGBAColor(0, 0, 0, 0.07);
pub(super) const AXIS: RGBColor = RGBColor(90, 90, 90);
pub(super) const TEXT: RGBColor = RGBColor(30, 30, 30);
pub(super) const WINDOW_FILL: RGBAColor = RGBAColor(120, 120, 200, 0.16);
pub(super) const WINDOW_TEXT: RGBColor = RGBColor(80, 80, 150);

/// Percent curves, in series order: saturated, distinct from the fault
/// colours' reds and greens where possible.
const SERIES: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(0, 128, 128),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(0, 0, 128),
    RGBColor(140, 86, 75),
    RGBColor(90, 90, 90),
];

/// The colour of the `nth` series of its kind: the n-th reported and n-th
/// durable series (usually one operation) share a hue.
pub(super) fn series_color(nth: usize, kind: SeriesKind) -> RGBColor {
    let RGBColor(r, g, b) = SERIES[nth % SERIES.len()];
    // The truth is drawn wide and pale, under the Client's step line, so both
    // stay readable where they coincide. Pale by mixing with white rather
    // than by alpha: translucent segments darken where they overlap.
    let pale = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * 0.55).round() as u8;
    match kind {
        SeriesKind::Reported => RGBColor(r, g, b),
        SeriesKind::Durable => RGBColor(pale(r), pale(g), pale(b)),
    }
}

pub(super) fn series_width(kind: SeriesKind) -> u32 {
    match kind {
        SeriesKind::Reported => 2,
        SeriesKind::Durable => 5,
    }
}

/// Sixteen distinguishable line colours for per-shard lines. None is
/// near a fault or mark colour (no red, black, grey, magenta, dark green or
/// bright green), so a shard line is never mistaken for a crash or a drop
/// (`fault_and_mark_colours_stand_apart` holds them apart).
const SHARDS: [RGBColor; 16] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 0, 0),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(174, 199, 232),
    RGBColor(197, 176, 213),
    RGBColor(57, 59, 121),
    RGBColor(255, 152, 150),
];

pub(super) fn shard_color(index: usize) -> RGBColor {
    SHARDS[index % SHARDS.len()]
}

pub(super) const FAULT_KINDS: [FaultKind; 6] = [
    FaultKind::Crash,
    FaultKind::Restart,
    FaultKind::KillOnCommit,
    FaultKind::Drop,
    FaultKind::Duplicate,
    FaultKind::Other,
];

pub(super) fn fault_color(kind: FaultKind) -> RGBColor {
    match kind {
        FaultKind::Crash => RGBColor(0, 0, 0),
        FaultKind::Restart => RGBColor(0, 80, 0),
        FaultKind::KillOnCommit => RGBColor(200, 0, 200),
        FaultKind::Drop => RGBColor(150, 150, 150),
        FaultKind::Duplicate => RGBColor(230, 0, 120),
        FaultKind::Other => RGBColor(0, 200, 90),
    }
}

pub(super) fn mark_color(kind: MarkKind) -> RGBColor {
    match kind {
        MarkKind::Violation => RGBColor(220, 0, 0),
        MarkKind::Deadline => RGBColor(150, 75, 0),
    }
}

pub(super) fn fault_name(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::Crash => "crash",
        FaultKind::Restart => "restart",
        FaultKind::KillOnCommit => "kill on commit",
        FaultKind::Drop => "drop",
        FaultKind::Duplicate => "duplicate",
        FaultKind::Other => "other fault",
    }
}

pub(super) const BAND_KINDS: [BandKind; 6] = [
    BandKind::Allocating,
    BandKind::Proposing,
    BandKind::Waiting,
    BandKind::Applying,
    BandKind::Done,
    BandKind::Failed,
];

pub(super) fn band_color(kind: BandKind) -> RGBColor {
    match kind {
        BandKind::Allocating => RGBColor(200, 200, 200),
        BandKind::Proposing => RGBColor(255, 187, 120),
        BandKind::Waiting => RGBColor(250, 228, 130),
        BandKind::Applying => RGBColor(120, 165, 215),
        BandKind::Done => RGBColor(120, 200, 110),
        BandKind::Failed => RGBColor(237, 102, 93),
    }
}

pub(super) fn band_name(kind: BandKind) -> &'static str {
    match kind {
        BandKind::Allocating => "Allocating",
        BandKind::Proposing => "Proposing",
        BandKind::Waiting => "Waiting",
        BandKind::Applying => "Applying",
        BandKind::Done => "Done",
        BandKind::Failed => "Failed",
    }
}

/// The short name written inside narrow bands ("A2" = Applying #2).
pub(super) fn band_abbrev(kind: BandKind) -> &'static str {
    match kind {
        BandKind::Allocating => "Al",
        BandKind::Proposing => "P",
        BandKind::Waiting => "W",
        BandKind::Applying => "A",
        BandKind::Done => "D",
        BandKind::Failed => "F",
    }
}

/// Viridis, sampled at five stops: perceptually ordered and readable in grey.
const VIRIDIS: [(f64, f64, f64); 5] =
    [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];

/// The heatmap colour of `fraction` in 0..=1.
pub(super) fn heat_color(fraction: f64) -> RGBColor {
    let scaled = fraction.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let low = (scaled.floor() as usize).min(VIRIDIS.len() - 2);
    let t = scaled - low as f64;
    let (a, b) = (VIRIDIS[low], VIRIDIS[low + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: RGBColor, b: RGBColor) -> f64 {
        let d = |x: u8, y: u8| (f64::from(x) - f64::from(y)).powi(2);
        (d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)).sqrt()
    }

    #[test]
    fn fault_and_mark_colours_stand_apart() {
        let faults: Vec<RGBColor> = FAULT_KINDS.iter().map(|k| fault_color(*k)).collect();
        let marks = [mark_color(MarkKind::Violation), mark_color(MarkKind::Deadline)];
        let others: Vec<RGBColor> = SHARDS.iter().chain(&SERIES).copied().collect();
        for (i, f) in faults.iter().chain(&marks).enumerate() {
            for o in &others {
                assert!(distance(*f, *o) >= 60.0, "fault/mark colour {i} {f:?} is too near line colour {o:?}");
            }
            for (j, g) in faults.iter().chain(&marks).enumerate() {
                assert!(i == j || distance(*f, *g) >= 60.0, "fault/mark colours {f:?} and {g:?} are too near");
            }
        }
    }
}
