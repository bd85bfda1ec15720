//! The workload and knobs passes: fewer tables and restores, fewer shards,
//! fewer incrementals, fewer rows and changes; fewer Client polls, another
//! batch size. Shards are numbered across tables, so removing shards moves
//! the numbers of every later table's shards: the tape (and per-link
//! latencies) are renumbered with them, and a fault on a shard that no
//! longer exists is dropped.

use super::search::{Accept, Candidate, Search};
use crate::scenario::tape::{TapeAnchorSpec, TapeFaultSpec};
use crate::scenario::{ActorRef, Duration, Scenario, TabletRef};

/// The Client's poll interval is never stretched past this.
const POLL_CEILING_US: u64 = 200_000;

/// Tries smaller workloads until none of them still fails.
pub(super) fn reduce(search: &mut Search) {
    loop {
        if search.exhausted() {
            return;
        }
        let best = search.best().clone();
        let mut candidates = tables(&best);
        candidates.extend(shards(&best));
        candidates.extend(incrementals(&best));
        candidates.extend(rows(&best));
        if search.try_first(candidates, Accept::Smaller).is_none() {
            return;
        }
    }
}

/// Tries fewer Client polls and other batch sizes: kept only if the run
/// gets shorter.
pub(super) fn knobs(search: &mut Search) {
    loop {
        if search.exhausted() {
            return;
        }
        let best = search.best().clone();
        let mut candidates = Vec::new();
        let poll = best.client.poll_interval.us();
        // Not past a tenth of the liveness bound: a Client that no longer
        // polls in time is a different liveness failure, not a smaller one.
        let ceiling = (best.budgets.liveness_bound.us() / 10).min(POLL_CEILING_US);
        for factor in [4, 2] {
            if poll * factor > ceiling {
                continue;
            }
            let mut s = best.clone();
            s.client.poll_interval = Duration(poll * factor);
            candidates.push(Candidate { scenario: s, note: format!("knobs: Client polls {factor}x less often") });
        }
        let batch = best.protocol.batch_rows;
        for rows in [batch.saturating_mul(4), batch.saturating_mul(2), batch / 2] {
            if rows >= 1 && rows != batch {
                let mut s = best.clone();
                s.protocol.batch_rows = rows;
                candidates.push(Candidate { scenario: s, note: format!("knobs: batch_rows {batch} → {rows}") });
            }
        }
        if search.try_first(candidates, Accept::Smaller).is_none() {
            return;
        }
    }
}

/// Each table (and its restores) removed, when another restore remains.
fn tables(s: &Scenario) -> Vec<Candidate> {
    let tables = &s.workload.tables;
    if tables.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (j, t) in tables.iter().enumerate() {
        let mut c = s.clone();
        c.restores.retain(|r| r.table != t.name);
        // No restores listed: the default one (of the first table) stays.
        let keeps_a_restore = !c.restores.is_empty() || s.restores.is_empty();
        if !keeps_a_restore {
            continue;
        }
        let first = first_shard(s, j);
        c.workload.tables.remove(j);
        renumber(&mut c, first, t.shards);
        out.push(Candidate { scenario: c, note: format!("workload: remove table {} and its restores", t.name) });
    }
    out
}

/// Each table with fewer shards: only the shards the tape names (the
/// others removed, the named ones renumbered to the front), then 1, 2,
/// half, one fewer (the last ones removed).
fn shards(s: &Scenario) -> Vec<Candidate> {
    let mut out = Vec::new();
    let named = named_shards(s);
    for (j, t) in s.workload.tables.iter().enumerate() {
        let n = t.shards;
        let first = first_shard(s, j);
        let keep: Vec<u32> = (first..first + n).filter(|k| named.contains(k)).collect();
        if !keep.is_empty() && (keep.len() as u32) < n {
            let mut c = s.clone();
            c.workload.tables[j].shards = keep.len() as u32;
            let map = |k: u32| {
                if k < first {
                    Some(k)
                } else if k < first + n {
                    keep.iter().position(|&x| x == k).map(|p| first + p as u32)
                } else {
                    Some(k - (n - keep.len() as u32))
                }
            };
            renumber_by(&mut c, &map);
            let note = format!("workload: table {} {n} → {} shards (only the faulted ones)", t.name, keep.len());
            out.push(Candidate { scenario: c, note });
        }
        // Each shard the tape does not name, removed alone (later ones move down).
        for k in (first..first + n).filter(|k| !named.contains(k)) {
            let mut c = s.clone();
            c.workload.tables[j].shards = n - 1;
            renumber(&mut c, k, 1);
            let note = format!("workload: table {} {n} → {} shards (without DataShard {k})", t.name, n - 1);
            out.push(Candidate { scenario: c, note });
        }
        let mut counts = vec![1, 2, n / 2, n.saturating_sub(1)];
        counts.retain(|&k| k >= 1 && k < n);
        counts.dedup();
        for k in counts {
            let mut c = s.clone();
            c.workload.tables[j].shards = k;
            renumber(&mut c, first_shard(s, j) + k, n - k);
            out.push(Candidate { scenario: c, note: format!("workload: table {} {n} → {k} shards", t.name) });
        }
    }
    out
}

/// Fewer incrementals: 1, 2, one fewer (restores naming a later one drop it).
fn incrementals(s: &Scenario) -> Vec<Candidate> {
    let k = s.workload.incrementals;
    let mut counts = vec![1, 2, k.saturating_sub(1)];
    counts.retain(|&m| m >= 1 && m < k);
    counts.dedup();
    let mut out = Vec::new();
    for m in counts {
        let mut c = s.clone();
        c.workload.incrementals = m;
        let mut empty = false;
        for r in &mut c.restores {
            if let Some(b) = &mut r.backups {
                b.retain(|i| *i <= m);
                empty |= b.is_empty();
            }
        }
        if !empty {
            out.push(Candidate { scenario: c, note: format!("workload: {k} → {m} incrementals") });
        }
    }
    out
}

/// Fewer rows of the full backup, fewer changes per incremental.
fn rows(s: &Scenario) -> Vec<Candidate> {
    let w = &s.workload;
    let mut out = Vec::new();
    for div in [4, 2] {
        if w.rows / div >= 1 {
            let mut c = s.clone();
            c.workload.rows = w.rows / div;
            out.push(Candidate { scenario: c, note: format!("workload: rows {} → {}", w.rows, w.rows / div) });
        }
        if w.changes.max / div >= 1 {
            let mut c = s.clone();
            c.workload.changes.min = w.changes.min / div;
            c.workload.changes.max = w.changes.max / div;
            let note = format!(
                "workload: changes per incremental {}..={} → {}..={}",
                w.changes.min,
                w.changes.max,
                w.changes.min / div,
                w.changes.max / div
            );
            out.push(Candidate { scenario: c, note });
        }
    }
    out
}

/// The global index of table `j`'s first shard.
fn first_shard(s: &Scenario, j: usize) -> u32 {
    s.workload.tables[..j].iter().map(|t| t.shards).sum()
}

/// The shards the tape names (as a fault's end, tablet or partition node).
fn named_shards(s: &Scenario) -> std::collections::BTreeSet<u32> {
    let named = std::cell::RefCell::new(std::collections::BTreeSet::new());
    for f in s.faults.tape.iter().flatten() {
        let actor = |a: ActorRef| {
            if let ActorRef::DataShard(n) = a {
                named.borrow_mut().insert(n);
            }
            Some(a)
        };
        let tablet = |t: TabletRef| {
            if let TabletRef::DataShard(n) = t {
                named.borrow_mut().insert(n);
            }
            Some(t)
        };
        let _ = renumber_fault(f.clone(), &actor, &tablet);
    }
    named.into_inner()
}

/// Shards `gone..gone + count` no longer exist; the ones after them move
/// down by `count`.
fn renumber(s: &mut Scenario, gone: u32, count: u32) {
    let map = |n: u32| -> Option<u32> {
        if n < gone {
            Some(n)
        } else if n < gone + count {
            None
        } else {
            Some(n - count)
        }
    };
    renumber_by(s, &map);
}

/// Every shard number of the tape and the per-link latencies through
/// `map` (`None`: the shard is gone, and so is what names it).
fn renumber_by(s: &mut Scenario, map: &dyn Fn(u32) -> Option<u32>) {
    let actor = |a: ActorRef| match a {
        ActorRef::DataShard(n) => map(n).map(ActorRef::DataShard),
        other => Some(other),
    };
    let tablet = |t: TabletRef| match t {
        TabletRef::DataShard(n) => map(n).map(TabletRef::DataShard),
        other => Some(other),
    };
    if let Some(tape) = &mut s.faults.tape {
        *tape = tape.drain(..).filter_map(|f| renumber_fault(f, &actor, &tablet)).collect();
    }
    s.network.links = s
        .network
        .links
        .drain(..)
        .filter_map(|mut l| {
            l.from = match l.from {
                Some(a) => Some(actor(a)?),
                None => None,
            };
            l.to = match l.to {
                Some(a) => Some(actor(a)?),
                None => None,
            };
            Some(l)
        })
        .collect();
}

fn renumber_fault(
    f: TapeFaultSpec,
    actor: &impl Fn(ActorRef) -> Option<ActorRef>,
    tablet: &impl Fn(TabletRef) -> Option<TabletRef>,
) -> Option<TapeFaultSpec> {
    use TapeFaultSpec as F;
    Some(match f {
        F::Drop { from, to, nth, detected } => F::Drop { from: actor(from)?, to: actor(to)?, nth, detected },
        F::Duplicate { from, to, nth } => F::Duplicate { from: actor(from)?, to: actor(to)?, nth },
        F::Delay { from, to, nth, extra } => F::Delay { from: actor(from)?, to: actor(to)?, nth, extra },
        F::ReadError { shard, nth, fatal } => F::ReadError { shard: tablet(shard)?, nth, fatal },
        F::AllocatorEmpty { nth } => F::AllocatorEmpty { nth },
        F::SlowCommit { tablet: t, nth, extra } => F::SlowCommit { tablet: tablet(t)?, nth, extra },
        F::KillOnCommit { tablet: t, nth, down } => F::KillOnCommit { tablet: tablet(t)?, nth, down },
        F::Restart { tablet: t, down, at } => {
            let at = match at {
                TapeAnchorSpec::AfterEvent { node, nth } => TapeAnchorSpec::AfterEvent { node: actor(node)?, nth },
                other => other,
            };
            F::Restart { tablet: tablet(t)?, down, at }
        }
        F::Partition { nodes, from, until, one_way } => {
            let nodes: Vec<ActorRef> = nodes.into_iter().filter_map(actor).collect();
            if nodes.is_empty() {
                return None;
            }
            F::Partition { nodes, from, until, one_way }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::TableSpec;

    #[test]
    fn removing_shards_renumbers_later_tables_and_drops_faults_on_gone_ones() {
        let mut s = crate::scenario::parse("(name: \"x\")", std::path::Path::new("t.ron")).unwrap();
        s.workload.tables = vec![TableSpec { name: "a".into(), shards: 4 }, TableSpec { name: "b".into(), shards: 2 }];
        let drop_to =
            |n| TapeFaultSpec::Drop { from: ActorRef::SchemeShard, to: ActorRef::DataShard(n), nth: 1, detected: true };
        s.faults.tape = Some(vec![drop_to(1), drop_to(3), drop_to(4), drop_to(5)]);
        let candidates = shards(&s);
        // Only the faulted shards of table a (1 and 3) stay, renumbered 0 and 1; table b's 4, 5 become 2, 3.
        let faulted = candidates.iter().find(|c| c.note.contains("only the faulted")).unwrap();
        assert_eq!(faulted.scenario.faults.tape.clone().unwrap(), vec![drop_to(0), drop_to(1), drop_to(2), drop_to(3)]);
        // Table a: 4 → 2 shards. Shards 2, 3 go; 4, 5 (table b) become 2, 3.
        let halved =
            candidates.iter().find(|c| c.note.contains("4 → 2 shards") && !c.note.contains("faulted")).unwrap();
        assert_eq!(halved.scenario.faults.tape.clone().unwrap(), vec![drop_to(1), drop_to(2), drop_to(3)]);
    }
}
