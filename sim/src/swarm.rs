//! The configuration swarm (issue 10, as TigerBeetle's VOPR `options_swarm`
//! draws a whole cluster): a scenario with `swarm: (...)` is, for each seed,
//! the scenario whose listed knobs take one drawn value each — protocol
//! knobs, the workload's shape, concurrent restores at drawn times, the
//! Client's polling, tie permutation. `resolve` makes that concrete
//! scenario; every run goes through it, so a seed of a swarm scenario *is*
//! the run of its resolved scenario (same trace hash), which is what
//! `shrink` reduces and what a capsule's `drawn.ron` holds.
//!
//! Each knob draws from its own labelled stream of the config subsystem
//! (`Stream::labelled`), so a knob added, removed or not swarmed never
//! changes what another draws, and no other subsystem's stream moves.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::{Ratio, Stream, Subsystem};
use crate::scenario::swarm::{ClientSwarm, NetworkSwarm, ProtocolSwarm, WorkloadSwarm};
use crate::scenario::{Chance, Duration, MinMax, RestoreSpec, Scenario, TableSpec};

/// One seed's drawn configuration: knob path → the value drawn, as RON
/// writes it (`"Stage"`, `"20ms"`, `"None"`). In `summary.json`
/// (`drawn_config`), each result line (`drawn`), and per value in a
/// sweep's `knob_coverage`.
pub type DrawnConfig = BTreeMap<String, String>;

/// The concrete scenario of `seed`, and what was drawn (`None` without a
/// `swarm` section: the scenario itself, borrowed).
pub fn resolve(scenario: &Scenario, seed: u64) -> (Cow<'_, Scenario>, Option<DrawnConfig>) {
    let Some(spec) = &scenario.swarm else { return (Cow::Borrowed(scenario), None) };
    let mut s = scenario.clone();
    s.swarm = None;
    let mut d = Draw { seed, drawn: DrawnConfig::new() };
    draw_protocol(&spec.protocol, &mut s, &mut d);
    draw_workload(&spec.workload, &mut s, &mut d);
    draw_client(&spec.client, &mut s, &mut d);
    draw_network(&spec.network, &mut s, &mut d);
    (Cow::Owned(s), Some(d.drawn))
}

/// The draws of one seed, and their record.
struct Draw {
    seed: u64,
    drawn: DrawnConfig,
}

impl Draw {
    /// One of `values`, uniformly, from the knob's own stream; `None` (and
    /// no draw) when the list is empty: the knob is not swarmed.
    fn pick<T: Clone + Serialize>(&mut self, knob: &'static str, values: &[T]) -> Option<T> {
        if values.is_empty() {
            return None;
        }
        let mut rng = self.stream(knob);
        let value = values[rng.below(values.len() as u64) as usize].clone();
        self.record(knob, &value);
        Some(value)
    }

    /// `n` picks from one stream (a value per table, per restore).
    fn pick_n<T: Clone>(&mut self, knob: &'static str, values: &[T], n: usize) -> Option<Vec<T>> {
        if values.is_empty() {
            return None;
        }
        let mut rng = self.stream(knob);
        Some((0..n).map(|_| values[rng.below(values.len() as u64) as usize].clone()).collect())
    }

    fn stream(&self, knob: &'static str) -> Stream {
        Stream::labelled(self.seed, Subsystem::Config, knob)
    }

    fn record<T: Serialize>(&mut self, knob: &'static str, value: &T) {
        self.drawn.insert(knob.to_string(), show(value));
    }
}

/// A value as RON writes it, with `Some(...)` and quotes dropped: `20ms`,
/// `None`, `Stage`, `(initial:1ms,max:20ms)`.
pub fn show<T: Serialize>(value: &T) -> String {
    let text = ron::ser::to_string(value).expect("a knob value always serializes");
    let text = text.strip_prefix("Some(").and_then(|t| t.strip_suffix(')')).unwrap_or(&text);
    text.replace('"', "")
}

fn draw_protocol(spec: &ProtocolSwarm, s: &mut Scenario, d: &mut Draw) {
    let p = &mut s.protocol;
    if let Some(v) = d.pick("protocol.resume_from_last_key", &spec.resume_from_last_key) {
        p.resume_from_last_key = v;
    }
    if let Some(v) = d.pick("protocol.request_rounds", &spec.request_rounds) {
        p.request_rounds = v;
    }
    if let Some(v) = d.pick("protocol.shard_timeout", &spec.shard_timeout) {
        p.shard_timeout = v;
    }
    if let Some(v) = d.pick("protocol.retry_scope", &spec.retry_scope) {
        p.retry_scope = v;
    }
    if let Some(v) = d.pick("protocol.max_shards_in_flight", &spec.max_shards_in_flight) {
        p.max_shards_in_flight = v;
    }
    if let Some(v) = d.pick("protocol.backoff", &spec.backoff) {
        p.backoff = v;
    }
    if let Some(v) = d.pick("protocol.deadline_overall", &spec.deadline_overall) {
        p.deadline_overall = v;
    }
    if let Some(v) = d.pick("protocol.deadline_stage", &spec.deadline_stage) {
        p.deadline_stage = v;
    }
    if let Some(v) = d.pick("protocol.progress_persist", &spec.progress_persist) {
        p.progress_persist = v;
    }
    if let Some(v) = d.pick("protocol.batch_rows", &spec.batch_rows) {
        p.batch_rows = v;
    }
    if s.protocol.shard_timeout.is_none() {
        only_detected_faults(s);
    }
}

/// Without a shard timeout only a pipe reset tells the coordinator that a
/// request or answer is gone (docs/design.md §4.6): a silent loss, or a
/// message vanishing into a one-way partition, then hangs the restore by
/// design — a liveness failure no protocol fix could avoid, which would
/// drown real ones. So such a seed's losses are detected and its
/// partitions symmetric; a hang left is a real bug (`NoRetryOnPipeReset`
/// is one). The fault swarm still draws its coins (always detected now),
/// so no other family's draw moves.
fn only_detected_faults(s: &mut Scenario) {
    s.network.loss_detected = true;
    s.network.random_partitions.one_way = Chance(Ratio::NEVER);
    for p in &mut s.faults.partitions {
        p.one_way = false;
    }
    if let Some(f) = &mut s.faults.swarm {
        f.loss_detected = Chance(Ratio::new(1, 1));
    }
}

fn draw_workload(spec: &WorkloadSwarm, s: &mut Scenario, d: &mut Draw) {
    let w = &mut s.workload;
    if let Some(n) = d.pick("workload.tables", &spec.tables) {
        let shards = w.tables.first().map_or(1, |t| t.shards);
        w.tables = (1..=n).map(|i| TableSpec { name: format!("t{i}"), shards }).collect();
        s.restores = w.tables.iter().map(|t| RestoreSpec::of(&t.name)).collect();
    }
    if let Some(shards) = d.pick_n("workload.shards", &spec.shards, w.tables.len()) {
        for (t, n) in w.tables.iter_mut().zip(&shards) {
            t.shards = *n;
        }
        d.record("workload.shards_max", &shards.iter().max().copied().unwrap_or(0));
    }
    if let Some(v) = d.pick("workload.incrementals", &spec.incrementals) {
        w.incrementals = v;
    }
    if let Some(v) = d.pick("workload.rows", &spec.rows) {
        w.rows = v;
    }
    if let Some(f) = d.pick("workload.key_space_per_row", &spec.key_space_per_row) {
        w.key_space = w.rows.max(1).saturating_mul(f);
    }
    if let Some(share) = d.pick("workload.changes", &spec.changes) {
        let max = (u128::from(w.rows) * u128::from(share.0.num) / u128::from(share.0.den)) as u64;
        w.changes = MinMax { min: max / 2, max };
    }
    if let Some(v) = d.pick("workload.erase", &spec.erase) {
        w.erase = v;
    }
    if let Some(at) = d.pick_n("workload.restore_at", &spec.restore_at, s.restores.len()) {
        for (r, at) in s.restores.iter_mut().zip(&at) {
            r.at = *at;
        }
        d.record("workload.restore_at_max", &at.iter().max().copied().unwrap_or(Duration(0)));
    }
}

/// The Client's drawn behaviour: a new drawn Client field is one `pick`
/// here (and its list in `ClientSwarm`).
fn draw_client(spec: &ClientSwarm, s: &mut Scenario, d: &mut Draw) {
    if let Some(v) = d.pick("client.poll_interval", &spec.poll_interval) {
        s.client.poll_interval = v;
    }
    if let Some(v) = d.pick("client.poll_interval_max", &spec.poll_interval_max) {
        s.client.poll_interval_max = v;
    }
    if let Some(v) = d.pick("client.shard_detail", &spec.shard_detail) {
        s.client.shard_detail = v;
    }
    if let Some(v) = d.pick("client.repeat_key", &spec.repeat_key) {
        s.client.repeat_key = v;
    }
    if let Some(v) = d.pick("client.conflicting_restore", &spec.conflicting_restore) {
        s.client.conflicting_restore = v;
    }
    if let Some(v) = d.pick("client.forget", &spec.forget) {
        s.client.forget = v;
    }
    if let Some(v) = d.pick("client.polls_after_end", &spec.polls_after_end) {
        s.client.polls_after_end = v;
    }
}

fn draw_network(spec: &NetworkSwarm, s: &mut Scenario, d: &mut Draw) {
    if let Some(v) = d.pick("network.permute_ties", &spec.permute_ties) {
        s.network.permute_ties = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swarm() -> Scenario {
        crate::scenario::parse("(name: \"s\", swarm: ())", std::path::Path::new("s.ron")).expect("a swarm scenario")
    }

    #[test]
    fn a_seed_draws_one_configuration_and_seeds_differ() {
        let s = swarm();
        let (a, da) = resolve(&s, 7);
        let (b, db) = resolve(&s, 7);
        assert_eq!((a.as_ref(), &da), (b.as_ref(), &db));
        assert!(a.swarm.is_none(), "the resolved scenario is concrete");
        let distinct: std::collections::BTreeSet<_> = (0..40).map(|seed| resolve(&s, seed).1).collect();
        assert!(distinct.len() > 35, "40 seeds drew only {} configurations", distinct.len());
    }

    #[test]
    fn every_resolved_configuration_is_a_valid_scenario() {
        let s = swarm();
        for seed in 0..300 {
            let (r, drawn) = resolve(&s, seed);
            crate::scenario::validate::validate(&r).unwrap_or_else(|e| panic!("seed {seed} {drawn:?}: {e:?}"));
            assert_eq!(r.restores.len(), r.workload.tables.len(), "every table is restored");
            if r.protocol.shard_timeout.is_none() {
                assert!(r.network.loss_detected && r.network.random_partitions.one_way.0.is_never());
            }
        }
    }

    #[test]
    fn a_knob_not_swarmed_draws_nothing_and_moves_no_other() {
        let s = swarm();
        let mut fewer = s.clone();
        fewer.swarm.as_mut().unwrap().protocol.retry_scope.clear();
        for seed in 0..20 {
            let (a, da) = resolve(&s, seed);
            let (b, db) = resolve(&fewer, seed);
            assert_eq!(b.protocol.retry_scope, s.protocol.retry_scope, "the scenario's own value stays");
            assert!(!db.as_ref().unwrap().contains_key("protocol.retry_scope"));
            assert_eq!(a.workload, b.workload);
            assert_eq!(a.protocol.batch_rows, b.protocol.batch_rows);
            assert_eq!(da.unwrap().len(), db.unwrap().len() + 1);
        }
    }

    #[test]
    fn without_a_swarm_section_the_scenario_is_itself() {
        let s = crate::scenario::parse("(name: \"plain\")", std::path::Path::new("p.ron")).unwrap();
        let (r, drawn) = resolve(&s, 3);
        assert!(matches!(r, Cow::Borrowed(_)));
        assert_eq!(drawn, None);
    }

    #[test]
    fn values_show_as_a_scenario_writes_them() {
        assert_eq!(show(&Some(Duration(20_000))), "20ms");
        assert_eq!(show(&None::<Duration>), "None");
        assert_eq!(show(&crate::scenario::RetryScope::Stage), "Stage");
        assert_eq!(show(&true), "true");
    }
}
