//! Writing one figure as both PNG and SVG: the font check, the two
//! backends and the error mapping live here once, so every plot kind
//! renders through the same generic `render` and stays byte-identical for
//! identical input.

use std::fs::{self, File};
use std::path::Path;

use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::prelude::{BitMapBackend, DrawingBackend, SVGBackend};

use crate::{ReportError, font};

/// What a figure's drawing code returns on any backend.
pub(crate) type DrawResultOf<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that can draw itself on any plotters backend.
pub(crate) trait Figure {
    fn render<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResultOf<(), DB>;
}

/// Draws `figure` at `size` into `png` and `svg`.
pub(crate) fn write_png_and_svg(
    figure: &impl Figure,
    png: &Path,
    svg: &Path,
    size: (u32, u32),
) -> Result<(), ReportError> {
    let error = |path: &Path, message: String| ReportError::Draw { path: path.to_path_buf(), message };
    if !font::register() {
        return Err(error(png, "the embedded DejaVu Sans font was rejected".into()));
    }
    File::create(png).map_err(|source| ReportError::Io { path: png.to_path_buf(), source })?;
    {
        let root = BitMapBackend::new(png, size).into_drawing_area();
        figure.render(&root).map_err(|e| error(png, e.to_string()))?;
        root.present().map_err(|e| error(png, e.to_string()))?;
    }
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        figure.render(&root).map_err(|e| error(svg, e.to_string()))?;
        root.present().map_err(|e| error(svg, e.to_string()))?;
    }
    fs::write(svg, text).map_err(|source| ReportError::Io { path: svg.to_path_buf(), source })
}
