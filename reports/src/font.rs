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

/// A text style of the embedded font at `size_px`, black.
pub(crate) fn text(size_px: u32) -> TextStyle<'static> {
    TextStyle::from(FontDesc::new(FontFamily::SansSerif, f64::from(size_px), FontStyle::Normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Registration succeeds and is idempotent.
    #[test]
    fn registers_once() {
        assert!(register());
        assert!(register());
        assert_eq!(FontFamily::SansSerif.as_str(), FAMILY);
    }
}
