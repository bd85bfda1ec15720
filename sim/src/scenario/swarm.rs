//! The configuration swarm as a scenario writes it (`swarm: (...)`, issue
//! 10, as TigerBeetle's VOPR draws its cluster options): per seed, every
//! listed knob takes one of its values, drawn from the seed's config
//! stream. An empty list is a knob that is not swarmed: the scenario's own
//! value stays, and nothing is drawn for it. `swarm: ()` swarms everything
//! with the ranges below. The draw itself is `crate::swarm`.

use serde::{Deserialize, Serialize};

use super::units::{Chance, Duration};
use super::{BackoffSpec, ProgressPersist, RetryScope};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigSwarm {
    pub protocol: ProtocolSwarm,
    pub workload: WorkloadSwarm,
    pub client: ClientSwarm,
    pub network: NetworkSwarm,
}

/// Values of each protocol knob (docs/design.md §4.6).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolSwarm {
    pub resume_from_last_key: Vec<bool>,
    pub request_rounds: Vec<bool>,
    /// `None` among them: only pipe resets detect trouble. Such a seed's
    /// losses are all detected and its partitions symmetric (see
    /// ARCHITECTURE.md, "Configuration swarm").
    pub shard_timeout: Vec<Option<Duration>>,
    pub retry_scope: Vec<RetryScope>,
    pub max_shards_in_flight: Vec<Option<u32>>,
    pub backoff: Vec<BackoffSpec>,
    pub deadline_overall: Vec<Option<Duration>>,
    pub deadline_stage: Vec<Option<Duration>>,
    pub progress_persist: Vec<ProgressPersist>,
    pub batch_rows: Vec<u32>,
}

fn ms(n: u64) -> Duration {
    Duration(n * 1_000)
}

impl Default for ProtocolSwarm {
    fn default() -> Self {
        ProtocolSwarm {
            resume_from_last_key: vec![true, false],
            request_rounds: vec![true, false],
            shard_timeout: vec![None, Some(ms(20)), Some(ms(100))],
            retry_scope: vec![RetryScope::Shard, RetryScope::Stage],
            max_shards_in_flight: vec![None, Some(1), Some(2), Some(3), Some(8)],
            backoff: vec![BackoffSpec { initial: ms(1), max: ms(20) }, BackoffSpec { initial: ms(10), max: ms(1_000) }],
            deadline_overall: vec![None, Some(ms(20_000))],
            deadline_stage: vec![None, Some(ms(5_000))],
            progress_persist: vec![ProgressPersist::EveryBatch, ProgressPersist::OnShardDone],
            batch_rows: vec![1, 3, 10, 50],
        }
    }
}

/// The workload's shape. Tables are named `t1`, `t2`, ...; each is
/// restored, at a drawn `restore_at`, so several restores run at once.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadSwarm {
    pub tables: Vec<u32>,
    /// Per table.
    pub shards: Vec<u32>,
    pub incrementals: Vec<u32>,
    pub rows: Vec<u64>,
    /// `key_space = rows × this`: 1 is dense (adjacent keys both change),
    /// 100 sparse.
    pub key_space_per_row: Vec<u64>,
    /// Changes per incremental, as a share of `rows` (`min` is half of it).
    pub changes: Vec<Chance>,
    pub erase: Vec<Chance>,
    /// Per restore.
    pub restore_at: Vec<Duration>,
}

impl Default for WorkloadSwarm {
    fn default() -> Self {
        let pct = |n| Chance(crate::engine::Ratio::new(n, 100));
        WorkloadSwarm {
            tables: vec![1, 2, 3, 5],
            shards: vec![1, 2, 3, 4, 8, 16, 32],
            incrementals: vec![1, 2, 3, 5],
            rows: vec![20, 100, 300],
            key_space_per_row: vec![1, 2, 100],
            changes: vec![pct(10), pct(50), pct(100)],
            erase: vec![pct(0), pct(10), pct(40)],
            restore_at: vec![ms(0), ms(1), ms(5), ms(30)],
        }
    }
}

/// What the Client does. A drawn Client field is one line here, its
/// default, and one `pick` in `crate::swarm::draw_client`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSwarm {
    pub poll_interval: Vec<Duration>,
    /// `None`: a fixed interval; else each wait is drawn up to this (it
    /// must be at least every `poll_interval`).
    pub poll_interval_max: Vec<Option<Duration>>,
    pub shard_detail: Vec<Chance>,
    pub repeat_key: Vec<bool>,
    pub conflicting_restore: Vec<bool>,
    pub forget: Vec<bool>,
    pub polls_after_end: Vec<u32>,
}

impl Default for ClientSwarm {
    fn default() -> Self {
        let pct = |n| Chance(crate::engine::Ratio::new(n, 100));
        ClientSwarm {
            poll_interval: vec![ms(1), ms(5), ms(20)],
            poll_interval_max: vec![None, Some(ms(50))],
            shard_detail: vec![pct(0), pct(30), pct(100)],
            repeat_key: vec![false, true],
            conflicting_restore: vec![false, true],
            forget: vec![false, true],
            polls_after_end: vec![0, 3],
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSwarm {
    pub permute_ties: Vec<bool>,
}

impl Default for NetworkSwarm {
    fn default() -> Self {
        NetworkSwarm { permute_ties: vec![true] }
    }
}

/// Which value of each list a corner takes.
#[derive(Clone, Copy, Debug)]
enum Corner {
    /// The `i`-th (the last, for a shorter list).
    Nth(usize),
    Smallest,
    Largest,
}

fn at<T: Clone>(values: &[T], corner: Corner, rank: fn(&T) -> u64) -> Vec<T> {
    let one = match corner {
        Corner::Nth(i) => values.get(i.min(values.len().saturating_sub(1))),
        Corner::Smallest => values.iter().min_by_key(|v| rank(v)),
        Corner::Largest => values.iter().max_by_key(|v| rank(v)),
    };
    one.cloned().into_iter().collect()
}

fn none() -> fn(&bool) -> u64 {
    |_| 0
}

fn opt_us(v: &Option<Duration>) -> u64 {
    v.map_or(0, |d| d.us().saturating_add(1))
}

impl ConfigSwarm {
    /// This swarm with every list cut down to its value at `corner`.
    fn corner(&self, c: Corner) -> ConfigSwarm {
        let (p, w, cl) = (&self.protocol, &self.workload, &self.client);
        ConfigSwarm {
            protocol: ProtocolSwarm {
                resume_from_last_key: at(&p.resume_from_last_key, c, none()),
                request_rounds: at(&p.request_rounds, c, none()),
                shard_timeout: at(&p.shard_timeout, c, opt_us),
                retry_scope: at(&p.retry_scope, c, |_| 0),
                max_shards_in_flight: at(&p.max_shards_in_flight, c, |v| v.map_or(0, u64::from)),
                backoff: at(&p.backoff, c, |b| b.max.us()),
                deadline_overall: at(&p.deadline_overall, c, opt_us),
                deadline_stage: at(&p.deadline_stage, c, opt_us),
                progress_persist: at(&p.progress_persist, c, |_| 0),
                batch_rows: at(&p.batch_rows, c, |v| u64::from(*v)),
            },
            workload: WorkloadSwarm {
                tables: at(&w.tables, c, |v| u64::from(*v)),
                shards: at(&w.shards, c, |v| u64::from(*v)),
                incrementals: at(&w.incrementals, c, |v| u64::from(*v)),
                rows: at(&w.rows, c, |v| *v),
                key_space_per_row: at(&w.key_space_per_row, c, |v| *v),
                changes: at(&w.changes, c, |v| u64::from(v.0.num) * 1_000_000 / u64::from(v.0.den)),
                erase: at(&w.erase, c, |_| 0),
                restore_at: at(&w.restore_at, c, |d| d.us()),
            },
            client: ClientSwarm {
                poll_interval: at(&cl.poll_interval, c, |d| d.us()),
                poll_interval_max: at(&cl.poll_interval_max, c, opt_us),
                shard_detail: at(&cl.shard_detail, c, |v| u64::from(v.0.num) * 1_000_000 / u64::from(v.0.den)),
                repeat_key: at(&cl.repeat_key, c, none()),
                conflicting_restore: at(&cl.conflicting_restore, c, none()),
                forget: at(&cl.forget, c, none()),
                polls_after_end: at(&cl.polls_after_end, c, |v| u64::from(*v)),
            },
            network: NetworkSwarm { permute_ties: at(&self.network.permute_ties, c, none()) },
        }
    }

    /// The configurations `validate` checks: for each `i`, every knob at
    /// its `i`-th value (so each value of each list is checked once), and
    /// every list at its smallest and at its largest (sizes that multiply,
    /// a DataShard a fault names, a restore time within the budget).
    pub fn corners(&self) -> Vec<(String, ConfigSwarm)> {
        let longest = self.corner_lengths().into_iter().max().unwrap_or(0);
        let mut out: Vec<(String, ConfigSwarm)> =
            (0..longest).map(|i| (format!("each knob at its value #{}", i + 1), self.corner(Corner::Nth(i)))).collect();
        out.push(("each knob at its smallest value".into(), self.corner(Corner::Smallest)));
        out.push(("each knob at its largest value".into(), self.corner(Corner::Largest)));
        out
    }

    fn corner_lengths(&self) -> [usize; 26] {
        let (p, w) = (&self.protocol, &self.workload);
        [
            p.resume_from_last_key.len(),
            p.request_rounds.len(),
            p.shard_timeout.len(),
            p.retry_scope.len(),
            p.max_shards_in_flight.len(),
            p.backoff.len(),
            p.deadline_overall.len(),
            p.deadline_stage.len(),
            p.progress_persist.len(),
            p.batch_rows.len(),
            w.tables.len(),
            w.shards.len(),
            w.incrementals.len(),
            w.rows.len(),
            w.key_space_per_row.len(),
            w.changes.len(),
            w.erase.len(),
            w.restore_at.len(),
            self.client.poll_interval.len(),
            self.client.poll_interval_max.len(),
            self.client.shard_detail.len(),
            self.client.repeat_key.len(),
            self.client.conflicting_restore.len(),
            self.client.forget.len(),
            self.client.polls_after_end.len(),
            self.network.permute_ties.len(),
        ]
    }
}
