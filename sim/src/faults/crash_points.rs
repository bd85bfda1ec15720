//! Systematic crash points, as YDB's reboot harness does it
//! (`ut_helpers/test_with_reboots.h`): a tracing run counts a tablet's
//! events and commits; then one run per event index restarts the tablet
//! right after that event, and one run per commit index kills it on that
//! commit (durable, but its completion never leaves). The points are split
//! into buckets so CI can spread them over jobs.
//!
//! Each point run is the scenario plus one `RestartSpec` (`AtEvent(k)` or
//! `AtCommit(c)` with `KillOnCommit`), so `restoresim run --crash-point`
//! reproduces any of them exactly.

use std::fmt;
use std::str::FromStr;

use super::plan::tablet_node;
use crate::engine::{Anchor, InjectedFault};
use crate::run::{self, RunOptions, RunReport};
use crate::scenario::{Duration, RestartKind, RestartSpec, Scenario, TabletRef, Trigger};

/// Where a point run hits the tablet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PointKind {
    /// Restart right after the tablet's k-th event (boots included).
    Event(u64),
    /// Kill on the tablet's c-th completed commit.
    Commit(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrashPoint {
    pub tablet: TabletRef,
    pub at: PointKind,
}

/// What the tracing run saw of the tablet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub events: u64,
    pub commits: u64,
}

/// `K/N`: bucket `K` (1-based) of `N`; point `i` (0-based, in plan order)
/// belongs to bucket `i % N + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub k: u32,
    pub n: u32,
}

impl Bucket {
    pub const ALL: Bucket = Bucket { k: 1, n: 1 };

    pub fn holds(&self, index: usize) -> bool {
        index % self.n as usize + 1 == self.k as usize
    }
}

impl FromStr for Bucket {
    type Err = String;
    fn from_str(s: &str) -> Result<Bucket, String> {
        let expected = || format!("a bucket like 2/5 (K of N, 1 <= K <= N); got \"{s}\"");
        let (k, n) = s.split_once('/').ok_or_else(expected)?;
        let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| expected())?, n.trim().parse().map_err(|_| expected())?);
        if n == 0 || k == 0 || k > n {
            return Err(expected());
        }
        Ok(Bucket { k, n })
    }
}

/// "SchemeShard", "TxAllocator", "DataShard3" (or "DataShard(3)").
pub fn parse_tablet(s: &str) -> Result<TabletRef, String> {
    match s {
        "SchemeShard" => Ok(TabletRef::SchemeShard),
        "TxAllocator" => Ok(TabletRef::TxAllocator),
        _ => s
            .strip_prefix("DataShard")
            .map(|n| n.trim_start_matches('(').trim_end_matches(')'))
            .and_then(|n| n.parse().ok())
            .map(TabletRef::DataShard)
            .ok_or_else(|| format!("expected SchemeShard, TxAllocator or DataShard<n>; got \"{s}\"")),
    }
}

pub fn tablet_name(t: TabletRef) -> String {
    match t {
        TabletRef::SchemeShard => "SchemeShard".into(),
        TabletRef::TxAllocator => "TxAllocator".into(),
        TabletRef::DataShard(n) => format!("DataShard{n}"),
    }
}

impl fmt::Display for CrashPoint {
    /// `DataShard3@event:12`, `SchemeShard@commit:4`: what `--crash-point` takes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tablet = tablet_name(self.tablet);
        match self.at {
            PointKind::Event(k) => write!(f, "{tablet}@event:{k}"),
            PointKind::Commit(c) => write!(f, "{tablet}@commit:{c}"),
        }
    }
}

impl FromStr for CrashPoint {
    type Err = String;
    fn from_str(s: &str) -> Result<CrashPoint, String> {
        let expected = || format!("a crash point like DataShard3@event:12 or SchemeShard@commit:4; got \"{s}\"");
        let (tablet, at) = s.split_once('@').ok_or_else(expected)?;
        let tablet = parse_tablet(tablet)?;
        let (kind, n) = at.split_once(':').ok_or_else(expected)?;
        let n: u64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(expected)?;
        let at = match kind {
            "event" => PointKind::Event(n),
            "commit" => PointKind::Commit(n),
            _ => return Err(expected()),
        };
        Ok(CrashPoint { tablet, at })
    }
}

/// The tracing run: the scenario as it is, counting the tablet's events and
/// commits.
pub fn trace(scenario: &Scenario, seed: u64, tablet: TabletRef) -> (RunReport, Counts) {
    let report = run::run(scenario, seed, RunOptions::default());
    let node = tablet_node(tablet) as usize;
    let counts = Counts {
        events: report.node_events.get(node).copied().unwrap_or(0),
        commits: report.node_commits.get(node).copied().unwrap_or(0),
    };
    (report, counts)
}

/// Every crash point of `tablet` the counts allow: a restart after each
/// event, then a kill on each commit.
pub fn plan(tablet: TabletRef, counts: Counts) -> Vec<CrashPoint> {
    let events = (1..=counts.events).map(|k| CrashPoint { tablet, at: PointKind::Event(k) });
    let commits = (1..=counts.commits).map(|c| CrashPoint { tablet, at: PointKind::Commit(c) });
    events.chain(commits).collect()
}

/// The points of one bucket, in plan order.
pub fn bucket(points: &[CrashPoint], bucket: Bucket) -> Vec<CrashPoint> {
    points.iter().enumerate().filter(|(i, _)| bucket.holds(*i)).map(|(_, p)| *p).collect()
}

/// The scenario with the point's restart added.
pub fn with_point(scenario: &Scenario, point: CrashPoint) -> Scenario {
    let mut s = scenario.clone();
    let (when, kind) = match point.at {
        PointKind::Event(k) => (Trigger::AtEvent(k), RestartKind::Restart),
        PointKind::Commit(c) => (Trigger::AtCommit(c), RestartKind::KillOnCommit),
    };
    s.faults.restarts.push(RestartSpec { tablet: point.tablet, when, kind, down: Duration(0) });
    s
}

/// One point's run.
pub fn run_crash_point(scenario: &Scenario, seed: u64, point: CrashPoint) -> RunReport {
    run::run(&with_point(scenario, point), seed, RunOptions::default())
}

/// Whether the point's fault happened in `report` (a point past the run's
/// end, or after the fault window closed, never fires).
pub fn fired(report: &RunReport, point: CrashPoint) -> bool {
    let node = tablet_node(point.tablet);
    report.fault_tape.iter().any(|(_, f)| match (point.at, f) {
        (
            PointKind::Event(k),
            InjectedFault::Restart { node: n, anchor: Anchor::AfterEvent { node: a, event }, .. },
        ) => *n == node && *a == node && *event == k,
        (PointKind::Commit(c), InjectedFault::KillOnCommit { node: n, nth, .. }) => *n == node && *nth == c,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_and_buckets_parse_and_split() {
        let p: CrashPoint = "DataShard3@event:12".parse().unwrap();
        assert_eq!(p, CrashPoint { tablet: TabletRef::DataShard(3), at: PointKind::Event(12) });
        assert_eq!(p.to_string().parse::<CrashPoint>().unwrap(), p);
        assert_eq!("SchemeShard@commit:4".parse::<CrashPoint>().unwrap().at, PointKind::Commit(4));
        for bad in ["DataShard@event:1", "SchemeShard@event:0", "SchemeShard", "Client@event:1", "TxAllocator@x:1"] {
            assert!(bad.parse::<CrashPoint>().is_err(), "{bad}");
        }
        let plan = plan(TabletRef::TxAllocator, Counts { events: 5, commits: 2 });
        assert_eq!(plan.len(), 7);
        let b1 = bucket(&plan, "1/3".parse().unwrap());
        let b2 = bucket(&plan, "2/3".parse().unwrap());
        let b3 = bucket(&plan, "3/3".parse().unwrap());
        assert_eq!(b1.len() + b2.len() + b3.len(), 7, "the buckets split the plan");
        assert_eq!(b1[0].at, PointKind::Event(1));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert!(bad.parse::<Bucket>().is_err(), "{bad}");
        }
    }
}
