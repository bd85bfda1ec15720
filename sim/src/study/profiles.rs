//! Fault profiles: named mixes of random faults a study axis can switch
//! between (`(path: "fault_profile", values: ["none", "silent-loss", ...])`),
//! so one axis compares protocols under whole fault regimes rather than one
//! rate at a time. A profile first clears every random fault rate of the
//! base scenario (loss, duplication, reordering, crashes, restarts, kills on
//! commit), then sets its own; latencies, the fault window, triggered
//! restarts and the fault tape are the base's.

use crate::scenario::{Chance, Scenario};

use super::axes::typed;

/// Every profile: its name, what it sets, and a description for `--help`.
pub const FAULT_PROFILES: &[(&str, &str)] = &[
    ("none", "no random faults"),
    ("detected-loss", "1% message loss, each loss breaks its pipe (both ends hear a reset)"),
    ("silent-loss", "1% message loss that breaks no pipe: only a timeout or a deadline can notice"),
    ("restarts", "each tablet event restarts its tablet with probability 0.2%"),
    ("crashes", "each tablet event crashes its tablet (down for a while) with probability 0.05%"),
];

fn chance(text: &str) -> Chance {
    typed(&format!("\"{text}\"")).expect("a profile's rates are valid probabilities")
}

/// Sets the random faults of `s` to the profile `name`.
pub fn set(s: &mut Scenario, name: &str) -> Result<(), String> {
    let never = Chance::default();
    let n = &mut s.network;
    (n.loss, n.duplicate, n.reorder, n.loss_detected) = (never, never, never, true);
    let t = &mut s.tablets;
    (t.crash, t.restart, t.kill_on_commit) = (never, never, never);
    match name {
        "none" => {}
        "detected-loss" => s.network.loss = chance("1%"),
        "silent-loss" => (s.network.loss, s.network.loss_detected) = (chance("1%"), false),
        "restarts" => s.tablets.restart = chance("0.2%"),
        "crashes" => s.tablets.crash = chance("0.05%"),
        _ => {
            let known: Vec<_> = FAULT_PROFILES.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            return Err(format!("unknown fault profile \"{name}\"; expected one of {}", known.join(", ")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        crate::scenario::parse(
            "(name: \"x\", workload: (tables: [(name: \"t\", shards: 4)]), network: (loss: \"5%\", duplicate: \"2%\"), \
             tablets: (crash: \"1%\"))",
            "t.ron".as_ref(),
        )
        .unwrap()
    }

    #[test]
    fn a_profile_replaces_the_base_faults() {
        let mut s = base();
        set(&mut s, "silent-loss").unwrap();
        assert_eq!(s.network.loss, chance("1%"));
        assert!(!s.network.loss_detected);
        assert_eq!((s.network.duplicate, s.tablets.crash), (Chance::default(), Chance::default()));
        set(&mut s, "restarts").unwrap();
        assert_eq!((s.network.loss, s.tablets.restart), (Chance::default(), chance("0.2%")));
        assert!(s.network.loss_detected, "a profile without silent loss keeps losses detected");
    }

    #[test]
    fn every_listed_profile_is_known_and_a_wrong_name_lists_them() {
        for (name, _) in FAULT_PROFILES {
            set(&mut base(), name).unwrap();
        }
        let e = set(&mut base(), "lossy").unwrap_err();
        assert!(e.contains("\"silent-loss\"") && e.contains("\"none\""), "{e}");
    }
}
