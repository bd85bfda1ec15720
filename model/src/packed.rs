//! A row, or its absence, in one `u64` when its values are small; and an
//! incremental's change (erase, or an upsert of some columns) likewise.
//!
//! Why: a `Row` is three `Option<u64>`, 48 bytes, and a `Change` 56, yet
//! the generated values are below 1,000,000 (20 bits). The full backup,
//! every DataShard's delta, the oracle's versions and the incrementals
//! store rows and changes packed — 8 bytes — and keep the rare one that
//! does not fit (a hand-written test's large value) in a side map, so the
//! packing is total: any `Row` and any `Change` is still representable,
//! and reads give exactly what was stored.

use crate::data::{COLUMNS, Cell, Change, Row};

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

/// Per column, the low `COL_BITS - 1` bits of its field, and its top bit.
const FIELD_LOW: u64 = repeat_per_column((1 << (COL_BITS - 1)) - 1);
const FIELD_TOP: u64 = repeat_per_column(1 << (COL_BITS - 1));

const fn repeat_per_column(field: u64) -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while i < COLUMNS as u32 {
        bits |= field << (i * COL_BITS);
        i += 1;
    }
    bits
}

/// The largest value a row and a change keep inline: a generator that draws
/// values up to it never makes a wide row or change.
pub const MAX_INLINE_VALUE: u64 = COL_MASK - 2;

/// Column fields of a drawn row below this are NULL: a tenth of the
/// `2^COL_BITS` field values (209,715 of 2,097,152, a NULL rate of
/// 0.0999999).
pub const DRAWN_NULL_FIELDS: u64 = (1 << COL_BITS) / 10;

/// Drawn values are uniform in `0..DRAWN_VALUES` (1,887,437): each field
/// value from `DRAWN_NULL_FIELDS` up is one value, so the draw is exactly
/// uniform, with no rejection.
pub const DRAWN_VALUES: u64 = (1 << COL_BITS) - DRAWN_NULL_FIELDS;

const _: () = assert!(DRAWN_VALUES - 1 <= MAX_INLINE_VALUE, "drawn values pack inline");

/// A drawn column's packed row field from its random field `f`: 0 (NULL)
/// for `f < DRAWN_NULL_FIELDS`, else `f - DRAWN_NULL_FIELDS + 1` (the
/// value `f - DRAWN_NULL_FIELDS`, stored plus one).
#[inline(always)]
fn drawn_field(bits: u64, column: u32) -> u64 {
    ((bits >> (column * COL_BITS)) & COL_MASK).saturating_sub(DRAWN_NULL_FIELDS - 1)
}

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

    /// The row workload generation draws from one random word
    /// (`sim/src/workload.rs`): column `i` from bits `21 i .. 21 i + 21`
    /// (bit 63 unused), NULL when that field is below
    /// [`DRAWN_NULL_FIELDS`], else the value `field - DRAWN_NULL_FIELDS`.
    /// The fields are disjoint bits of a uniform word, so the columns are
    /// independent, each NULL with probability 0.0999999 and otherwise
    /// exactly uniform in `0..DRAWN_VALUES`. Always inline.
    #[inline]
    pub fn drawn(bits: u64) -> Packed {
        Packed(drawn_field(bits, 0) | drawn_field(bits, 1) << COL_BITS | drawn_field(bits, 2) << (2 * COL_BITS))
    }

    /// `change` applied to this row (or absence), packed to packed — what
    /// [`Change::apply`] does, on all columns at once: a written column's
    /// change field is its row field plus one. `None` when either side is
    /// wide (then the caller applies the unpacked change).
    ///
    /// The oracle applies every change of every incremental this way, so
    /// the columns are done together with carry-free word arithmetic
    /// rather than one at a time.
    pub fn apply(self, change: PackedChange) -> Option<Packed> {
        if self.is_wide() || change.is_wide() {
            return None;
        }
        if change.0 == ABSENT {
            return Some(Packed(ABSENT));
        }
        // An absent row is upserted from all-NULL columns (all fields 0).
        let row = if self.0 == ABSENT { 0 } else { self.0 };
        let c = change.0;
        // Bit 20 of each written field: a field's low 20 bits plus 2^20 - 1
        // carry into bit 20 exactly when they are not all zero (never
        // further), and bit 20 itself may be set.
        let written_top = (((c & FIELD_LOW) + FIELD_LOW) | c) & FIELD_TOP;
        let written_one = written_top >> (COL_BITS - 1);
        // A written field's bits all set: its lowest bit times the field mask
        // (the products do not overlap).
        let written = written_one * COL_MASK;
        // Minus one in each written field only (each is at least one, so no
        // borrow crosses a field).
        Some(Packed((row & !written) | ((c - written_one) & written)))
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

/// A [`Change`] in one `u64`: per column 0 is "not written" (`Keep`), 1 a
/// written NULL, `v + 2` a written value `v`; an erase and the too-wide
/// marker use the flag bit, as in [`Packed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedChange(u64);

/// What a [`PackedChange`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnpackedChange {
    Change(Change),
    /// Too wide to pack: look the change up in the side map.
    Wide,
}

impl PackedChange {
    pub fn is_erase(self) -> bool {
        self.0 == ABSENT
    }

    /// The packed form, or the `Wide` marker when a value is too large
    /// (then the caller keeps the change in its side map).
    pub fn new(change: &Change) -> PackedChange {
        let Change::Upsert { cells } = change else { return PackedChange(ABSENT) };
        let mut bits = 0;
        for (i, cell) in cells.iter().enumerate() {
            let field = match cell {
                Cell::Keep => 0,
                Cell::Set(None) => 1,
                Cell::Set(Some(v)) if *v < COL_MASK - 1 => v + 2,
                Cell::Set(Some(_)) => return PackedChange(WIDE),
            };
            bits |= field << (i as u32 * COL_BITS);
        }
        PackedChange(bits)
    }

    pub fn is_wide(self) -> bool {
        self.0 == WIDE
    }

    /// The erase.
    pub const ERASE: PackedChange = PackedChange(ABSENT);

    /// The upsert workload generation draws: it writes the columns whose
    /// bit is set in `written` (bit `i` for column `i`), each with the
    /// value [`Packed::drawn`] gives that column of `bits`. A written
    /// column's change field is its row field plus one.
    #[inline]
    pub fn drawn_upsert(bits: u64, written: u8) -> PackedChange {
        debug_assert!(written < 1 << COLUMNS, "a column mask");
        let mut change = 0;
        for column in 0..COLUMNS as u32 {
            if written & (1 << column) != 0 {
                change |= (drawn_field(bits, column) + 1) << (column * COL_BITS);
            }
        }
        PackedChange(change)
    }

    /// The word itself: the change's explicit encoding, which the trace
    /// digest hashes (`Change`'s `Hash`). Distinct inline changes have
    /// distinct words; a wide one is the one `WIDE` marker.
    pub fn word(self) -> u64 {
        self.0
    }

    pub fn get(self) -> UnpackedChange {
        match self.0 {
            ABSENT => UnpackedChange::Change(Change::Erase),
            WIDE => UnpackedChange::Wide,
            bits => {
                let mut cells = [Cell::Keep; COLUMNS];
                for (i, cell) in cells.iter_mut().enumerate() {
                    *cell = match (bits >> (i as u32 * COL_BITS)) & COL_MASK {
                        0 => Cell::Keep,
                        field => Cell::Set(field.checked_sub(2)),
                    };
                }
                UnpackedChange::Change(Change::Upsert { cells })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of cell in every column, at the edges of what fits,
    /// round-trips; a value past them is wide, never a wrong value.
    #[test]
    fn every_small_change_round_trips_and_large_values_are_wide() {
        let cells =
            [Cell::Keep, Cell::Set(None), Cell::Set(Some(0)), Cell::Set(Some(999_999)), Cell::Set(Some(COL_MASK - 2))];
        for a in cells {
            for b in cells {
                for c in cells {
                    let change = Change::Upsert { cells: [a, b, c] };
                    assert_eq!(PackedChange::new(&change).get(), UnpackedChange::Change(change));
                }
            }
        }
        assert_eq!(PackedChange::new(&Change::Erase).get(), UnpackedChange::Change(Change::Erase));
        for large in [COL_MASK - 1, COL_MASK, u64::MAX] {
            let change = Change::Upsert { cells: [Cell::Keep, Cell::Set(Some(large)), Cell::Set(None)] };
            assert!(PackedChange::new(&change).is_wide());
        }
        assert!(!Packed::new(Some(Row { cols: [Some(MAX_INLINE_VALUE); COLUMNS] })).is_wide());
    }

    /// Applying on the bits is `Change::apply`, for every kind of cell over
    /// a present and an absent row, and erases; wide sides are refused.
    /// The values include those whose packed fields have only their top
    /// bit set, or all bits but it (where a carry between columns would
    /// show).
    #[test]
    fn applying_packed_is_applying_the_change() {
        let top = 1 << (COL_BITS - 1);
        let cells = [
            Cell::Keep,
            Cell::Set(None),
            Cell::Set(Some(0)),
            Cell::Set(Some(top - 2)),
            Cell::Set(Some(top - 3)),
            Cell::Set(Some(MAX_INLINE_VALUE)),
        ];
        let rows = [
            None,
            Some(Row { cols: [Some(7), None, Some(MAX_INLINE_VALUE)] }),
            Some(Row::default()),
            Some(Row { cols: [Some(top - 1), Some(top - 2), Some(MAX_INLINE_VALUE)] }),
        ];
        for before in rows {
            let mut changes = vec![Change::Erase];
            for a in cells {
                for b in cells {
                    for c in cells {
                        changes.push(Change::Upsert { cells: [a, b, c] });
                    }
                }
            }
            for change in changes {
                let after = Packed::new(before).apply(PackedChange::new(&change)).expect("both fit");
                assert_eq!(after.get(), Unpacked::Row(change.apply(before)), "{change:?} over {before:?}");
            }
        }
        let wide = Change::Upsert { cells: [Cell::Set(Some(u64::MAX)), Cell::Keep, Cell::Keep] };
        assert_eq!(Packed::new(None).apply(PackedChange::new(&wide)), None);
        let wide_row = Packed::new(Some(Row { cols: [Some(u64::MAX), None, None] }));
        assert_eq!(wide_row.apply(PackedChange::new(&Change::Erase)), None);
    }

    proptest::proptest! {
        /// Random rows and changes of inline values: `Change::apply`.
        #[test]
        fn applying_random_changes_is_applying_the_change(
            row in proptest::option::of(proptest::array::uniform3(proptest::option::of(0..=MAX_INLINE_VALUE))),
            cells in proptest::array::uniform3(proptest::option::of(proptest::option::of(0..=MAX_INLINE_VALUE))),
            erase in proptest::bool::weighted(0.1),
        ) {
            let before = row.map(|cols| Row { cols });
            let change = if erase {
                Change::Erase
            } else {
                Change::Upsert { cells: cells.map(|cell| cell.map_or(Cell::Keep, Cell::Set)) }
            };
            let after = Packed::new(before).apply(PackedChange::new(&change)).expect("both fit");
            proptest::prop_assert_eq!(after.get(), Unpacked::Row(change.apply(before)));
        }
    }

    /// Every one of the 2^21 values a drawn column's field can take: a
    /// tenth of them (to within one in 2^21) are NULL and every value below
    /// `DRAWN_VALUES` comes from exactly one of the others, so a uniform
    /// field gives NULL with probability 0.0999999 and otherwise a value
    /// exactly uniform below `DRAWN_VALUES`. Each column reads its own
    /// field, whatever the others hold.
    #[test]
    fn a_drawn_field_is_null_a_tenth_of_the_time_and_else_uniform() {
        let mut nulls = 0u64;
        let mut next_value = 0u64;
        for f in 0..1u64 << COL_BITS {
            for column in 0..COLUMNS {
                // The other columns' fields hold unrelated bits.
                let noise = 0x5555_5555_5555_5555 & !(COL_MASK << (column as u32 * COL_BITS)) & !FLAG;
                let Unpacked::Row(Some(row)) = Packed::drawn(noise | f << (column as u32 * COL_BITS)).get() else {
                    panic!("a drawn row is a present, inline row")
                };
                match row.cols[column] {
                    None => assert!(f < DRAWN_NULL_FIELDS, "{f}"),
                    Some(v) => {
                        assert!(f >= DRAWN_NULL_FIELDS && v == f - DRAWN_NULL_FIELDS, "{f} -> {v}");
                        if column == 0 {
                            assert_eq!(v, next_value, "values come in order, each once");
                            next_value += 1;
                        }
                    }
                }
            }
            nulls += u64::from(f < DRAWN_NULL_FIELDS);
        }
        assert_eq!(next_value, DRAWN_VALUES);
        assert_eq!(nulls, DRAWN_NULL_FIELDS);
        assert!((nulls * 10).abs_diff(1 << COL_BITS) < 10, "a tenth");
        assert_eq!(Packed::drawn(u64::MAX).get(), Unpacked::Row(Some(Row { cols: [Some(DRAWN_VALUES - 1); COLUMNS] })));
        assert_eq!(Packed::drawn(0).get(), Unpacked::Row(Some(Row::default())), "all NULL, never absent");
    }

    proptest::proptest! {
        /// A drawn upsert writes exactly its masked columns, with the
        /// values the drawn row of the same bits has.
        #[test]
        fn a_drawn_upsert_writes_the_drawn_rows_values(bits in proptest::num::u64::ANY, written in 1u8..8) {
            let Unpacked::Row(Some(row)) = Packed::drawn(bits).get() else { panic!("a row") };
            let change = PackedChange::drawn_upsert(bits, written);
            let cells = std::array::from_fn(|i| if written & (1 << i) != 0 { Cell::Set(row.cols[i]) } else { Cell::Keep });
            proptest::prop_assert_eq!(change.get(), UnpackedChange::Change(Change::Upsert { cells }));
            proptest::prop_assert_eq!(change, PackedChange::new(&Change::Upsert { cells }));
        }
    }

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
