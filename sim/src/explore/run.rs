//! One explored run: the scenario replayed from a placement's tape, with an
//! observer that records the fault points met after the placement's last
//! fault (where its children may place one more) and the state fingerprint
//! after every event from that fault on, and that stops the run as soon as
//! it reaches a state explored before with at least its fault budget.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use restoresim_model::knobs::Bug;

use super::fingerprint::{self, Fnv128};
use crate::engine::{Engine, Probe, Step};
use crate::restore::RestoreSystem;
use crate::run::{self, Outcome, RunOptions, StepObserver, ViolationReport};
use crate::scenario::Scenario;

/// Explored states: fingerprint → the largest fault budget left with which
/// a run passed through it, and the placement that recorded it so. Looked
/// up, never iterated, so a hash map's order cannot leak into results; the
/// keys are already hashes.
pub type Seen = HashMap<u128, (u8, u64), BuildHasherDefault<Fnv128>>;

/// A fault point met after the placement's last fault, and how many state
/// fingerprints the run had recorded before it (so a window cut at
/// fingerprint `i` keeps the points with `checkpoint <= i`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowPoint {
    pub probe: Probe,
    /// Its number among every fault point of the run (1-based).
    pub ordinal: u64,
    pub checkpoint: usize,
}

/// What one explored run found.
#[derive(Debug)]
pub struct Explored {
    /// `Err` when the run panicked (a bug in restoresim).
    pub outcome: Result<Outcome, String>,
    pub violation: Option<ViolationReport>,
    /// It reached an explored state and stopped there: the placement that
    /// recorded the state (whose future from there is this run's).
    pub pruned_into: Option<u64>,
    pub events: u64,
    pub window: Vec<WindowPoint>,
    /// State fingerprints after each event from the last fault on, up to
    /// the end or the explored state it stopped at (not included).
    pub fingerprints: Vec<u128>,
}

struct Observer<'a> {
    /// Ordinal of the fault point the last fault is placed at (0: none).
    last_fault: u64,
    budget: u8,
    seen: &'a Seen,
    met: u64,
    buffer: Vec<Probe>,
    window: Vec<WindowPoint>,
    fingerprints: Vec<u128>,
    pruned_into: Option<u64>,
}

impl StepObserver for Observer<'_> {
    fn after_step(&mut self, engine: &mut Engine<RestoreSystem>, _step: &Step) -> bool {
        engine.take_probes(&mut self.buffer);
        for probe in self.buffer.drain(..) {
            self.met += 1;
            if self.met > self.last_fault {
                self.window.push(WindowPoint { probe, ordinal: self.met, checkpoint: self.fingerprints.len() });
            }
        }
        // The tape's last fault is applied in the event that meets its
        // point: from the end of that event on, nothing of the tape is left.
        if self.met < self.last_fault {
            return true;
        }
        let fp = fingerprint::of(engine);
        if let Some((b, by)) = self.seen.get(&fp)
            && *b >= self.budget
        {
            self.pruned_into = Some(*by);
            return false;
        }
        self.fingerprints.push(fp);
        true
    }
}

/// Replays `scenario` (with `bugs`) and `seed` from `tape`, whose last
/// fault sits at fault point `last_fault`; `budget` faults may still be
/// placed after it.
pub fn explore_one(
    scenario: &Scenario,
    bugs: &[Bug],
    seed: u64,
    tape: &[crate::engine::InjectedFault],
    last_fault: u64,
    budget: u8,
    seen: &Seen,
) -> Explored {
    let mut observer = Observer {
        last_fault,
        budget,
        seen,
        met: 0,
        buffer: Vec::new(),
        window: Vec::new(),
        fingerprints: Vec::new(),
        pruned_into: None,
    };
    let result = crate::sweep::guard::catch(|| {
        let options = RunOptions { bugs: bugs.to_vec(), observer: Some(&mut observer), ..RunOptions::default() };
        let report = run::replay(scenario, seed, options, tape);
        // The prefix up to the last fault is the parent's run, event for
        // event, so every fault of the tape fires; one that did not is a
        // bug in the engine's determinism or in the anchors.
        assert_eq!(
            report.fault_tape.len(),
            tape.len(),
            "an explored placement's faults all fire (tape {tape:?}, fired {:?})",
            report.fault_tape
        );
        (report.outcome, report.violation, report.events)
    });
    match result {
        Ok((outcome, violation, events)) => Explored {
            outcome: Ok(outcome),
            violation,
            pruned_into: observer.pruned_into,
            events,
            window: observer.window,
            fingerprints: observer.fingerprints,
        },
        Err(message) => Explored {
            outcome: Err(message),
            violation: None,
            pruned_into: None,
            events: 0,
            window: Vec::new(),
            fingerprints: Vec::new(),
        },
    }
}
