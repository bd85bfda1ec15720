//! Running one seed so that a panic in a model becomes that seed's result
//! instead of the sweep's end, and comparing two runs of one seed event by
//! event to name the first divergent one.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::engine::Step;
use crate::restore::actor_of;

thread_local! {
    /// Above zero while this thread runs guarded code (guards nest): its
    /// panics are captured, not printed over the progress bar.
    static QUIET: Cell<u32> = const { Cell::new(0) };
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs, once per process, a panic hook that captures the message and
/// location of panics on guarded threads and hands every other panic to the
/// hook that was there before (tests running beside a sweep keep their
/// messages).
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) > 0 {
                let payload = info.payload();
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".into());
                let at = info.location().map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
                CAPTURED.with(|c| *c.borrow_mut() = Some(format!("panicked{at}: {what}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic comes back as `Err(message with location)`.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install_hook();
    QUIET.with(|q| q.set(q.get() + 1));
    // The closure only reads shared data (the scenario) and owns the run's
    // state, which a panic drops whole: nothing half-changed is seen again.
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(q.get() - 1));
    let captured = CAPTURED.with(|c| c.borrow_mut().take());
    result.map_err(|_| captured.unwrap_or_else(|| "panicked".into()))
}

/// The first event at which two runs of one seed differ, described for a
/// person: `None` when the steps are equal.
pub fn first_divergence(a: &[Step], b: &[Step]) -> Option<String> {
    let at =
        a.iter().zip(b).position(|(x, y)| x != y).or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))?;
    let side = |steps: &[Step]| steps.get(at).map_or_else(|| format!("(ended after {} events)", steps.len()), describe);
    Some(format!("first divergent event #{}:\n  run 1: {}\n  run 2: {}", at + 1, side(a), side(b)))
}

/// One step as the trace shows it: index, virtual time, kind, endpoints,
/// payload digest.
pub fn describe(s: &Step) -> String {
    format!(
        "#{} t={}us {} node={} peer={} digest={:016x}",
        s.index,
        s.time,
        s.kind.name(),
        actor_of(s.node),
        actor_of(s.peer),
        s.payload
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EventKind;

    fn step(index: u64, payload: u64) -> Step {
        Step { index, time: index * 10, kind: EventKind::Deliver, node: 0, peer: 1, payload, ..Step::NONE }
    }

    #[test]
    fn names_the_first_differing_step_or_the_shorter_end() {
        let a = [step(1, 5), step(2, 6), step(3, 7)];
        let b = [step(1, 5), step(2, 9), step(3, 7)];
        let d = first_divergence(&a, &b).unwrap();
        assert!(d.contains("#2:") && d.contains("digest=0000000000000006") && d.contains("0000000000000009"), "{d}");
        let d = first_divergence(&a, &a[..2]).unwrap();
        assert!(d.contains("#3:") && d.contains("ended after 2 events"), "{d}");
        assert_eq!(first_divergence(&a, &a), None);
    }

    #[test]
    fn a_panic_becomes_a_message_with_its_location() {
        let r: Result<(), String> = catch(|| panic!("model broke on seed {}", 7));
        let message = r.unwrap_err();
        assert!(message.contains("model broke on seed 7") && message.contains("guard.rs"), "{message}");
        assert_eq!(catch(|| 3), Ok(3));
        // Guards nest: after an inner one, the outer still captures.
        let outer: Result<(), String> = catch(|| {
            let inner = catch(|| 1);
            panic!("after inner {inner:?}")
        });
        assert!(outer.unwrap_err().contains("after inner Ok(1)"));
    }
}
