//! Tables and their DataShards: who owns which key range.

use crate::ids::{Key, ShardIdx, TableId};

/// A DataShard's static description: its table and its key range
/// `[start, end)`. Like a tablet's schema, it does not change in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    pub idx: ShardIdx,
    pub table: TableId,
    pub start: Key,
    pub end: Key,
}

impl ShardSpec {
    pub fn contains(&self, key: Key) -> bool {
        self.start <= key && key < self.end
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub id: TableId,
    pub name: String,
    /// The table's shards in key order.
    pub shards: Vec<ShardIdx>,
}

/// All tables and shards. Shards are numbered densely across tables, so
/// `shards[idx.0]` is shard `idx`: lookups are O(1), never a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    pub tables: Vec<TableSpec>,
    pub shards: Vec<ShardSpec>,
}

impl Topology {
    /// Splits each table's key space `[0, key_space)` into `shards` equal ranges;
    /// the last shard extends to `Key::MAX`.
    pub fn uniform(tables: &[(String, u32)], key_space: Key) -> Topology {
        let mut topology = Topology::default();
        for (t, (name, shard_count)) in tables.iter().enumerate() {
            assert!(*shard_count > 0, "a table has at least one shard");
            let table = TableId(t as u32);
            let step = (key_space / Key::from(*shard_count)).max(1);
            let mut shards = Vec::with_capacity(*shard_count as usize);
            for s in 0..*shard_count {
                let idx = ShardIdx(topology.shards.len() as u32);
                let start = step * Key::from(s);
                let end = if s + 1 == *shard_count { Key::MAX } else { step * Key::from(s + 1) };
                topology.shards.push(ShardSpec { idx, table, start, end });
                shards.push(idx);
            }
            topology.tables.push(TableSpec { id: table, name: name.clone(), shards });
        }
        topology
    }

    pub fn shard(&self, idx: ShardIdx) -> &ShardSpec {
        &self.shards[idx.0 as usize]
    }

    pub fn table(&self, id: TableId) -> Option<&TableSpec> {
        self.tables.get(id.0 as usize)
    }

    pub fn table_by_name(&self, name: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_split_covers_every_key_once() {
        let t = Topology::uniform(&[("a".into(), 3), ("b".into(), 2)], 300);
        assert_eq!(t.shards.len(), 5);
        assert_eq!(t.tables[1].shards, vec![ShardIdx(3), ShardIdx(4)]);
        for key in [0, 99, 100, 299, 300, 10_000] {
            let owners = t.tables[0].shards.iter().filter(|s| t.shard(**s).contains(key)).count();
            assert_eq!(owners, 1, "key {key}");
        }
    }
}
