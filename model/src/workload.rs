//! A workload as plain data: the tables, their backup chains, and the restores
//! the Client will ask for. Generated from a seed by `sim`; the model only
//! reads it.

use crate::data::BackupChain;
use crate::ids::{IncrIdx, Micros, RequestKey, TableId};
use crate::topology::Topology;

/// One MultiIncrementalRestore the Client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreRequestSpec {
    pub key: RequestKey,
    /// The table's name, as a user types it (it may name no table).
    pub table: String,
    /// The incrementals to apply, in the order given (validated by SchemeShard).
    pub backups: Vec<IncrIdx>,
    pub at: Micros,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    pub topology: Topology,
    /// `backups[t]` is table `t`'s chain.
    pub backups: Vec<BackupChain>,
    pub restores: Vec<RestoreRequestSpec>,
}

impl Workload {
    pub fn chain(&self, table: TableId) -> &BackupChain {
        &self.backups[table.0 as usize]
    }
}
