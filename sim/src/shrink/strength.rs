//! The strength pass: each fault in a weaker form, kept if the run still
//! fails. Kill on commit → a plain restart at the same moment; a crash's
//! down time → 0 (or half); a partition → half as long, one node fewer,
//! one-way; a delay or a slow commit → half as long; a fatal read error →
//! transient. Every form is strictly weaker, so the pass ends.

use super::search::{Accept, Candidate, Search};
use crate::engine::Micros;
use crate::scenario::Duration;
use crate::scenario::tape::{TapeAnchorSpec, TapeFaultSpec};

/// Below this a delay, slow commit or partition is not worth halving.
const SHORTEST_US: Micros = 100;

/// Tries weaker forms of every fault of the best run, one fault at a time.
pub(super) fn weaken(search: &mut Search) {
    let mut i = 0;
    loop {
        let tape = search.best().faults.tape.clone().unwrap_or_default();
        if i >= tape.len() || search.exhausted() {
            return;
        }
        // When this fault was decided in the best run (the tape is its fired faults, in order).
        let at_us = search.best_report().fault_tape.get(i).map_or(0, |(t, _)| *t);
        let candidates: Vec<Candidate> = weaker(&tape[i], at_us)
            .into_iter()
            .map(|(form, note)| {
                let mut scenario = search.best().clone();
                let mut t = tape.clone();
                t[i] = form;
                scenario.faults.tape = Some(t);
                Candidate { scenario, note: format!("strength: {note}") }
            })
            .collect();
        // A weakened fault may fire elsewhere in the tape's order: start
        // this fault's index over only when nothing was accepted.
        if search.try_first(candidates, Accept::NoBigger).is_none() {
            i += 1;
        }
    }
}

/// The weaker forms of `fault`, the weakest first; `at_us` is when it was decided.
pub(super) fn weaker(fault: &TapeFaultSpec, at_us: Micros) -> Vec<(TapeFaultSpec, String)> {
    let half = |d: &Duration| Duration(d.us() / 2);
    let mut out = Vec::new();
    match fault.clone() {
        TapeFaultSpec::KillOnCommit { tablet, nth, down } => {
            out.push((
                TapeFaultSpec::Restart { tablet, down, at: TapeAnchorSpec::Time(Duration(at_us)) },
                format!("kill of {tablet:?} on its commit {nth} → a restart at {at_us}us"),
            ));
            if down.us() > 0 {
                out.push((
                    TapeFaultSpec::KillOnCommit { tablet, nth, down: Duration(0) },
                    format!("kill of {tablet:?} on its commit {nth}: down time → 0"),
                ));
            }
        }
        TapeFaultSpec::Restart { tablet, down, at } if down.us() > 0 => {
            out.push((
                TapeFaultSpec::Restart { tablet, down: Duration(0), at },
                format!("crash of {tablet:?}: down time → 0"),
            ));
            out.push((
                TapeFaultSpec::Restart { tablet, down: half(&down), at },
                format!("crash of {tablet:?}: down time halved"),
            ));
        }
        TapeFaultSpec::Partition { nodes, from, until, one_way } => {
            let len = until.us() - from.us();
            if len / 2 >= SHORTEST_US {
                let until = Duration(from.us() + len / 2);
                out.push((
                    TapeFaultSpec::Partition { nodes: nodes.clone(), from, until, one_way },
                    "partition: half as long".into(),
                ));
            }
            if nodes.len() > 1 {
                for skip in 0..nodes.len() {
                    let fewer = nodes.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, n)| *n).collect();
                    out.push((
                        TapeFaultSpec::Partition { nodes: fewer, from, until, one_way },
                        format!("partition: without {:?}", nodes[skip]),
                    ));
                }
            }
            if !one_way {
                out.push((TapeFaultSpec::Partition { nodes, from, until, one_way: true }, "partition: one-way".into()));
            }
        }
        TapeFaultSpec::Delay { from, to, nth, extra } if extra.us() / 2 >= SHORTEST_US => out.push((
            TapeFaultSpec::Delay { from, to, nth, extra: half(&extra) },
            format!("delay of message {nth} {from:?} → {to:?} halved"),
        )),
        TapeFaultSpec::SlowCommit { tablet, nth, extra } if extra.us() / 2 >= SHORTEST_US => out.push((
            TapeFaultSpec::SlowCommit { tablet, nth, extra: half(&extra) },
            format!("slow commit {nth} of {tablet:?} halved"),
        )),
        TapeFaultSpec::ReadError { shard, nth, fatal: true } => out.push((
            TapeFaultSpec::ReadError { shard, nth, fatal: false },
            format!("read error {nth} of {shard:?}: fatal → transient"),
        )),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ActorRef, TabletRef};

    /// Every weaker form is weaker again only finitely often: repeatedly
    /// taking the first form ends.
    #[test]
    fn weakening_ends() {
        let start = [
            TapeFaultSpec::KillOnCommit { tablet: TabletRef::SchemeShard, nth: 3, down: Duration(5_000) },
            TapeFaultSpec::Partition {
                nodes: vec![ActorRef::SchemeShard, ActorRef::DataShard(1)],
                from: Duration(0),
                until: Duration(80_000),
                one_way: false,
            },
            TapeFaultSpec::Delay { from: ActorRef::Client, to: ActorRef::SchemeShard, nth: 1, extra: Duration(9_000) },
            TapeFaultSpec::ReadError { shard: TabletRef::DataShard(0), nth: 2, fatal: true },
        ];
        for fault in start {
            let mut f = fault.clone();
            let mut steps = 0;
            while let Some((next, _)) = weaker(&f, 1_000).into_iter().next() {
                f = next;
                steps += 1;
                assert!(steps < 64, "{fault:?} weakens forever");
            }
        }
    }
}
