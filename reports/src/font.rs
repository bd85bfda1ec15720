//! The one font every plot uses: DejaVu Sans 2.37, embedded from the `dejavu`
//! crate and registered with plotters as "sans-serif".
//!
//! Embedding the font (instead of asking the system) is what makes PNG output
//! byte-identical across machines and lets the SVG backend measure text for
//! layout. The font's licence (Bitstream Vera / Arev, DejaVu changes in the
//! public domain) is kept in `reports/FONT-LICENSE`; ship it with any
//! distribution of this crate or of the rendered images' producer.

use std::sync::OnceLock;

use plotters::style::{FontDesc, FontFamily, FontStyle, TextStyle};

/// The family name the font is registered under; plotters' `SansSerif`
/// resolves to it.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers DejaVu Sans once per process. Returns false when plotters
/// rejects the embedded bytes (which would mean a broken `dejavu` crate).
pub(crate) fn register() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok())
}

/// A text style of the embedded font at `size_px`, black. Even sizes only:
/// plotters' bitmap text places each glyph at `(size / 2 + top) as i32`,
/// which at an odd size rounds small glyphs up and tall ones down, so a
/// decimal point floats a pixel above the baseline and reads as `·`.
pub(crate) fn text(size_px: u32) -> TextStyle<'static> {
    assert!(size_px.is_multiple_of(2), "odd font sizes misplace glyphs in PNGs (size {size_px})");
    TextStyle::from(FontDesc::new(FontFamily::SansSerif, f64::from(size_px), FontStyle::Normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows holding ink in each run of inked columns of `text` drawn at
    /// `size` into a small bitmap: (first row, last row) per glyph.
    fn glyph_rows(text: &str, size: u32) -> Vec<(u32, u32)> {
        use plotters::prelude::*;
        assert!(register());
        let (w, h) = (120u32, 40u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            let style =
                TextStyle::from(FontDesc::new(FontFamily::SansSerif, f64::from(size), FontStyle::Normal)).color(&BLACK);
            root.draw(&Text::new(text.to_string(), (4, 4), style)).unwrap();
            root.present().unwrap();
        }
        let ink = |x: u32, y: u32| buf[((y * w + x) * 3) as usize] < 128;
        let mut glyphs: Vec<(u32, u32)> = Vec::new();
        let mut in_glyph = false;
        for x in 0..w {
            let rows: Vec<u32> = (0..h).filter(|y| ink(x, *y)).collect();
            match (rows.first(), rows.last(), in_glyph) {
                (Some(a), Some(b), false) => glyphs.push((*a, *b)),
                (Some(a), Some(b), true) => {
                    let g = glyphs.last_mut().unwrap();
                    *g = (g.0.min(*a), g.1.max(*b));
                }
                _ => {}
            }
            in_glyph = !rows.is_empty();
        }
        glyphs
    }

    #[test]
    fn a_decimal_point_sits_on_the_baseline_at_even_sizes() {
        for size in [10, 12, 14, 16, 20] {
            let glyphs = glyph_rows("1.1", size);
            assert_eq!(glyphs.len(), 3, "size {size}: {glyphs:?}");
            assert_eq!(glyphs[1].1, glyphs[0].1, "size {size}: the dot's bottom row is the digit's: {glyphs:?}");
        }
    }

    /// Registration succeeds and is idempotent.
    #[test]
    fn registers_once() {
        assert!(register());
        assert!(register());
        assert_eq!(FontFamily::SansSerif.as_str(), FAMILY);
    }
}
