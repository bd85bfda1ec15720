//! The shrink's state and its one way of trying things: run candidates
//! (in parallel), accept the first failing one in order. Passes propose
//! candidates; only this file runs them.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::{Goal, Progress, ShrinkOptions, Shrunk, Size, ddmin, fired, strength, workload};
use crate::run::{self, RunReport};
use crate::scenario::Scenario;

/// A candidate as the search keeps it: the scenario and a note for the
/// accepted-steps list.
pub(super) struct Candidate {
    pub scenario: Scenario,
    pub note: String,
}

/// How a pass judges a failing candidate against the best so far.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Accept {
    /// Smaller in the preference order (faults, shards, events).
    Smaller,
    /// No more faults or shards (a weaker fault is progress of its own).
    NoBigger,
}

pub struct Search<'p> {
    goal: Goal,
    seed: u64,
    options: ShrinkOptions,
    progress: &'p dyn Progress,
    pool: rayon::ThreadPool,
    best: Scenario,
    best_report: RunReport,
    runs: u64,
    counted: u64,
    steps: Vec<String>,
    /// Candidates already run (by their RON text): still failing or not.
    seen: BTreeMap<String, bool>,
}

impl<'p> Search<'p> {
    pub(super) fn new(
        goal: Goal,
        seed: u64,
        options: ShrinkOptions,
        progress: &'p dyn Progress,
        start: Scenario,
        first: RunReport,
    ) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.jobs.max(1))
            .build()
            .expect("a thread pool of a few threads builds");
        let mut best = start;
        best.faults.tape = Some(fired(&first));
        Search {
            goal,
            seed,
            options,
            progress,
            pool,
            best,
            best_report: first,
            runs: 1,
            counted: 1,
            steps: Vec::new(),
            seen: BTreeMap::new(),
        }
    }

    pub(super) fn best(&self) -> &Scenario {
        &self.best
    }

    pub(super) fn best_report(&self) -> &RunReport {
        &self.best_report
    }

    pub(super) fn best_size(&self) -> Size {
        Size::of(&self.best, &self.best_report)
    }

    pub(super) fn exhausted(&self) -> bool {
        self.counted >= self.options.max_runs
    }

    /// Runs `candidates` in order (in parallel, `jobs` at a time) and
    /// accepts the first that fails the goal and passes `accept`; returns
    /// its index. The tape kept is the faults that fired in its run.
    pub(super) fn try_first(&mut self, candidates: Vec<Candidate>, accept: Accept) -> Option<usize> {
        let jobs = self.options.jobs.max(1);
        let mut at = 0;
        while at < candidates.len() && !self.exhausted() {
            let room = (self.options.max_runs - self.counted) as usize;
            let chunk = &candidates[at..candidates.len().min(at + jobs.min(room))];
            let results: Vec<Option<RunReport>> =
                self.pool.install(|| chunk.par_iter().map(|c| self.evaluate(&c.scenario, accept)).collect::<Vec<_>>());
            let texts: Vec<String> = chunk.iter().map(|c| key(&c.scenario)).collect();
            self.runs += results.len() as u64;
            let first = results.iter().position(Option::is_some);
            self.counted += first.map_or(results.len(), |i| i + 1) as u64;
            for (text, r) in texts.iter().zip(&results).take(first.map_or(results.len(), |i| i + 1)) {
                self.seen.insert(text.clone(), r.is_some());
            }
            if let Some(i) = first {
                let report = results.into_iter().nth(i).flatten().expect("the first failing one");
                let mut scenario = chunk[i].scenario.clone();
                scenario.faults.tape = Some(fired(&report));
                let before = self.best_size();
                self.best = scenario;
                self.best_report = report;
                let after = self.best_size();
                self.steps.push(format!("{} ({} → {})", chunk[i].note, before, after));
                self.progress.tried(self.runs, &after);
                return Some(at + i);
            }
            self.progress.tried(self.runs, &self.best_size());
            at += chunk.len();
        }
        None
    }

    /// The candidate's run if it fails the goal and beats the best.
    fn evaluate(&self, scenario: &Scenario, accept: Accept) -> Option<RunReport> {
        if self.seen.get(&key(scenario)) == Some(&false) {
            return None;
        }
        let report = crate::sweep::guard::catch(|| run::run(scenario, self.seed, Default::default())).ok()?;
        if !self.goal.holds(&report) {
            return None;
        }
        let (size, best) = (Size::of(scenario, &report), self.best_size());
        let better = match accept {
            Accept::Smaller => size.key() < best.key(),
            Accept::NoBigger => size.faults <= best.faults && size.shards <= best.shards,
        };
        better.then_some(report)
    }

    /// The passes, in turn, until a whole round changes nothing.
    pub(super) fn run_passes(&mut self) {
        loop {
            let before = (self.steps.len(), key(&self.best));
            ddmin::faults(self);
            strength::weaken(self);
            workload::reduce(self);
            workload::knobs(self);
            if self.exhausted() || (self.steps.len(), key(&self.best)) == before {
                break;
            }
        }
    }

    /// Removes each remaining fault alone; true when every such run no
    /// longer fails (one that still fails is accepted, and ddmin goes on).
    pub(super) fn check_one_minimal(&mut self) -> bool {
        loop {
            let tape = self.best.faults.tape.clone().unwrap_or_default();
            let candidates = ddmin::complements(self, &tape, tape.len().max(1));
            let n = candidates.len();
            let tried_before = self.counted;
            match self.try_first(candidates, Accept::Smaller) {
                Some(_) => {
                    ddmin::faults(self);
                    continue;
                }
                None => return (self.counted - tried_before) as usize == n,
            }
        }
    }

    pub(super) fn finish(self, before: Size, one_minimal: bool, wall: std::time::Duration) -> Shrunk {
        let after = self.best_size();
        Shrunk {
            goal: self.goal,
            seed: self.seed,
            before,
            after,
            scenario: self.best,
            report: self.best_report,
            runs: self.runs,
            runs_counted: self.counted,
            steps: self.steps,
            one_minimal,
            budget_exhausted: self.counted >= self.options.max_runs,
            wall,
        }
    }
}

/// A candidate's identity: its scenario as RON (the seed is the search's).
fn key(s: &Scenario) -> String {
    ron::to_string(s).expect("a scenario always serializes")
}
