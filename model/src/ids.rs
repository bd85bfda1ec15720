//! Identifiers in the protocol's own words. Plain integers in newtypes so a
//! `ShardIdx` can never be passed where a `TableId` is meant.

use std::fmt;

/// Virtual time in microseconds. Models receive it as an argument; they never
/// read a clock.
pub type Micros = u64;

/// A primary key. Keys are `u64`; `Key::MAX` is never a row key.
pub type Key = u64;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($inner:ty), $fmt:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub $inner);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, $fmt, self.0)
            }
        }
    };
}

id!(
    /// Returned by MultiIncrementalRestore; names one LongIncrementalRestoreOp.
    OperationId(u64), "op{}"
);
id!(
    /// Handed out by the TxAllocator, one per incremental stage.
    TxId(u64), "tx{}"
);
id!(
    /// A table of the restored database.
    TableId(u32), "table{}"
);
id!(
    /// A DataShard, numbered across all tables (0-based).
    ShardIdx(u32), "shard{}"
);
id!(
    /// Tablet generation: +1 at every boot. Messages carry the sender's.
    Generation(u32), "gen{}"
);
id!(
    /// Per-shard request round: +1 every time the coordinator re-sends a
    /// request for the same stage to the same shard.
    Round(u32), "round{}"
);
id!(
    /// 1-based index of an incremental backup in the chain.
    IncrIdx(u32), "incr{}"
);
id!(
    /// The client's idempotency key for MultiIncrementalRestore.
    RequestKey(u64), "req{}"
);

/// What a request or response is stamped with: the coordinator's generation
/// and the round of the request. Ordered lexicographically, so a newer
/// coordinator generation always wins over any round of an older one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Stamp {
    pub generation: Generation,
    pub round: Round,
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.generation.0, self.round.0)
    }
}
