//! The faults pass: delta debugging (ddmin, Zeller & Hildebrandt 2002)
//! over the fault tape. Split the tape into `n` chunks; try each chunk
//! alone, then each complement; on a failing one restart from it (with
//! `n = 2`, or `n - 1` for a complement); else split finer, until the
//! chunks are single faults. The end is 1-minimal: no single fault can go.
//!
//! The tape kept after each accepted candidate is the faults that *fired*
//! in its run, so a fault whose anchor no longer comes disappears too.

use super::search::{Accept, Candidate, Search};
use crate::scenario::tape::TapeFaultSpec;

/// Runs ddmin on the best run's tape until it is 1-minimal (or the run
/// budget is spent).
pub(super) fn faults(search: &mut Search) {
    let mut n = 2;
    loop {
        let tape = search.best().faults.tape.clone().unwrap_or_default();
        if tape.is_empty() || search.exhausted() {
            return;
        }
        if tape.len() == 1 {
            // The only question left: does it fail with no fault at all?
            search.try_first(complements(search, &tape, 1), Accept::Smaller);
            return;
        }
        let n_now = n.min(tape.len());
        let mut candidates = subsets(search, &tape, n_now);
        let subsets_len = candidates.len();
        if n_now > 2 {
            candidates.extend(complements(search, &tape, n_now));
        }
        match search.try_first(candidates, Accept::Smaller) {
            Some(i) if i < subsets_len => n = 2,
            Some(_) => n = (n_now - 1).max(2),
            None if n_now >= tape.len() => return,
            None => n = (n_now * 2).min(tape.len()),
        }
    }
}

/// `tape` cut into `n` nearly equal chunks, in order.
fn chunks(tape: &[TapeFaultSpec], n: usize) -> Vec<std::ops::Range<usize>> {
    let n = n.clamp(1, tape.len().max(1));
    (0..n).map(|i| (i * tape.len() / n)..((i + 1) * tape.len() / n)).filter(|r| !r.is_empty()).collect()
}

fn with_tape(search: &Search, tape: Vec<TapeFaultSpec>, note: String) -> Candidate {
    let mut scenario = search.best().clone();
    scenario.faults.tape = Some(tape);
    Candidate { scenario, note }
}

/// Each chunk alone.
fn subsets(search: &Search, tape: &[TapeFaultSpec], n: usize) -> Vec<Candidate> {
    chunks(tape, n)
        .into_iter()
        .map(|r| {
            let note = format!("faults: keep entries {}..{} of {}", r.start, r.end, tape.len());
            with_tape(search, tape[r].to_vec(), note)
        })
        .collect()
}

/// The tape without each chunk.
pub(super) fn complements(search: &Search, tape: &[TapeFaultSpec], n: usize) -> Vec<Candidate> {
    if tape.is_empty() {
        return Vec::new();
    }
    chunks(tape, n)
        .into_iter()
        .map(|r| {
            let rest = tape[..r.start].iter().chain(&tape[r.end..]).cloned().collect();
            let note = if r.len() == 1 {
                format!("faults: remove {}", describe(&tape[r.start]))
            } else {
                format!("faults: remove entries {}..{} of {}", r.start, r.end, tape.len())
            };
            with_tape(search, rest, note)
        })
        .collect()
}

/// A tape entry in one line of RON.
pub(crate) fn describe(fault: &TapeFaultSpec) -> String {
    ron::to_string(fault).unwrap_or_else(|_| format!("{fault:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ActorRef;

    #[test]
    fn chunks_cover_the_tape_in_order() {
        let tape: Vec<TapeFaultSpec> = (1..=7)
            .map(|nth| TapeFaultSpec::Duplicate { from: ActorRef::SchemeShard, to: ActorRef::Client, nth })
            .collect();
        for n in 1..=9 {
            let c = chunks(&tape, n);
            assert_eq!(c.len(), n.min(7), "n = {n}");
            assert_eq!(c.first().unwrap().start, 0);
            assert_eq!(c.last().unwrap().end, 7);
            assert!(c.windows(2).all(|w| w[0].end == w[1].start));
        }
    }
}
