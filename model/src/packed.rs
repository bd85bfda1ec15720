//! A row, or its absence, in one `u64` when its values are small.
//!
//! Why: a `Row` is three `Option<u64>`, 48 bytes, yet the generated values
//! are below 1,000,000 (20 bits). The full backup and every DataShard's
//! delta store rows as `Packed` — 8 bytes, a sixth — and keep the rare row
//! that does not fit (a hand-written test's large value) in a side map, so
//! any `Row` is still representable and reads give exactly what was stored.

use crate::data::{COLUMNS, Row};

/// Bits per column: 0 is NULL, `v + 1` is the value `v`.
const COL_BITS: u32 = 21;
const COL_MASK: u64 = (1 << COL_BITS) - 1;
/// Set in no inline row: the columns use the low `COLUMNS * COL_BITS` bits.
const FLAG: u64 = 1 << 63;
/// The key is absent (erased).
const ABSENT: u64 = FLAG;
/// The row did not fit: it is in the owner's side map.
const WIDE: u64 = FLAG | 1;

const _: () = assert!(COLUMNS as u32 * COL_BITS <= 63, "the columns fit below the flag bit");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packed(u64);

/// What a [`Packed`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unpacked {
    Row(Option<Row>),
    /// Too wide to pack: look the row up in the side map.
    Wide,
}

impl Packed {
    /// The packed form, or the `Wide` marker when a value is too large
    /// (then the caller keeps the row in its side map).
    pub fn new(row: Option<Row>) -> Packed {
        let Some(row) = row else { return Packed(ABSENT) };
        let mut bits = 0;
        for (i, col) in row.cols.iter().enumerate() {
            let field = match col {
                None => 0,
                Some(v) if *v < COL_MASK => v + 1,
                Some(_) => return Packed(WIDE),
            };
            bits |= field << (i as u32 * COL_BITS);
        }
        Packed(bits)
    }

    pub fn is_wide(self) -> bool {
        self.0 == WIDE
    }

    pub fn get(self) -> Unpacked {
        match self.0 {
            ABSENT => Unpacked::Row(None),
            WIDE => Unpacked::Wide,
            bits => {
                let mut row = Row::default();
                for (i, col) in row.cols.iter_mut().enumerate() {
                    let field = (bits >> (i as u32 * COL_BITS)) & COL_MASK;
                    *col = field.checked_sub(1);
                }
                Unpacked::Row(Some(row))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_small_row_round_trips_and_large_values_are_wide() {
        let small = [None, Some(0), Some(1), Some(999_999), Some(COL_MASK - 1)];
        for a in small {
            for b in small {
                for c in small {
                    let row = Row { cols: [a, b, c] };
                    assert_eq!(Packed::new(Some(row)).get(), Unpacked::Row(Some(row)));
                }
            }
        }
        assert_eq!(Packed::new(None).get(), Unpacked::Row(None));
        for large in [COL_MASK, u64::MAX] {
            assert!(Packed::new(Some(Row { cols: [None, Some(large), Some(1)] })).is_wide());
        }
    }
}
