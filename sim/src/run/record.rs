//! What a run records for people: the short log (one line per coordinator
//! state transition and per fault), and the data of the progress plot.

use std::collections::BTreeMap;

use restoresim_model::ids::{IncrIdx, OperationId};
use restoresim_model::msg::Actor;
use restoresim_model::note::Note;
use restoresim_model::progress::OpState;
use restoresim_reports::{
    BandKind, FaultKind, FaultMarker, FaultWindow, PercentSeries, RunPlot, SeriesKind, ShardSeries, StateBand,
};

use crate::engine::{InjectedFault, Micros};
use crate::restore::{RestoreSystem, actor_of};

/// At most this many fault markers are kept for the plot (drops can be many).
const MAX_MARKERS: usize = 5_000;

#[derive(Debug, Default)]
pub struct Recorder {
    pub log: Vec<String>,
    /// Per op: the open band (state, incr, since).
    open: BTreeMap<OperationId, (OpState, IncrIdx, Micros)>,
    bands: Vec<(OperationId, OpState, IncrIdx, Micros, Micros)>,
    markers: Vec<FaultMarker>,
}

pub fn fmt_time(us: Micros) -> String {
    format!("{}.{:06}s", us / 1_000_000, us % 1_000_000)
}

impl Recorder {
    pub fn note(&mut self, now: Micros, note: &Note) {
        match note {
            Note::OpState { op, incr, state, .. } => {
                if let Some((s, i, since)) = self.open.insert(*op, (*state, *incr, now)) {
                    self.bands.push((*op, s, i, since, now));
                }
                self.log.push(format!("{} op{} → {:?} (incremental {})", fmt_time(now), op.0, state, incr.0));
            }
            Note::OpFinished { op, status, issues } => {
                let issues = if issues.is_empty() { String::new() } else { format!(": {issues}") };
                self.log.push(format!("{} op{} finished {:?}{issues}", fmt_time(now), op.0, status));
            }
            Note::DuplicateRequestAnswered { op } => {
                self.log.push(format!("{} duplicate MultiIncrementalRestore answered with op{}", fmt_time(now), op.0));
            }
            Note::Rejected { status } => self.log.push(format!("{} restore rejected: {status:?}", fmt_time(now))),
            Note::Booted { actor } => self.log.push(format!("{} {actor} booted", fmt_time(now))),
            _ => {}
        }
    }

    pub fn crash(&mut self, now: Micros, node: u32, kill_on_commit: bool) {
        let actor = actor_of(node);
        let (kind, what) =
            if kill_on_commit { (FaultKind::KillOnCommit, "killed on commit") } else { (FaultKind::Crash, "crashed") };
        self.log.push(format!("{} {actor} {what}", fmt_time(now)));
        self.marker(FaultMarker { at_us: now, kind, label: actor.to_string() });
    }

    pub fn injected(&mut self, now: Micros, fault: InjectedFault) {
        let (kind, label) = match fault {
            InjectedFault::Drop { from, to } => (FaultKind::Drop, format!("{}→{}", actor_of(from), actor_of(to))),
            InjectedFault::Duplicate { from, to } => {
                (FaultKind::Duplicate, format!("{}→{}", actor_of(from), actor_of(to)))
            }
            InjectedFault::ReadError { node, fatal } => {
                let what = if fatal { "fatal read error" } else { "read error" };
                (FaultKind::Other, format!("{} {what}", actor_of(node)))
            }
        };
        self.marker(FaultMarker { at_us: now, kind, label });
    }

    fn marker(&mut self, marker: FaultMarker) {
        if self.markers.len() < MAX_MARKERS {
            self.markers.push(marker);
        }
    }

    /// The plot of the run, from what was recorded and the durable tracker.
    pub fn plot(&self, title: String, end_us: Micros, system: &RestoreSystem, window: (Micros, Micros)) -> RunPlot {
        let mut percent = Vec::new();
        let client = system.client.as_ref();
        for (op, points) in system.tracker.op_points() {
            let mut reported = vec![(0, 0.0)];
            if let Some(c) = client {
                reported.extend(
                    c.observations
                        .iter()
                        .filter(|o| o.report.op == op)
                        .map(|o| (o.at, f64::from(o.report.percent_bp) / 100.0)),
                );
            }
            percent.push(PercentSeries {
                label: format!("op{} reported", op.0),
                kind: SeriesKind::Reported,
                points: reported,
            });
            let mut durable = vec![(0, 0.0)];
            durable.extend(points.iter().map(|(t, bp)| (*t, *bp as f64 / 100.0)));
            percent.push(PercentSeries {
                label: format!("op{} durable", op.0),
                kind: SeriesKind::Durable,
                points: durable,
            });
        }
        let shards = system
            .tracker
            .shard_points
            .iter()
            .enumerate()
            .map(|(i, points)| {
                let mut pts = vec![(0, 0.0)];
                pts.extend(points.iter().map(|(t, bp)| (*t, *bp as f64 / 100.0)));
                ShardSeries {
                    label: Actor::DataShard(restoresim_model::ids::ShardIdx(i as u32)).to_string(),
                    points: pts,
                }
            })
            .collect();
        let closed = self.bands.iter().copied();
        let open = self.open.iter().map(|(op, (s, i, since))| (*op, *s, *i, *since, end_us));
        let bands = closed
            .chain(open)
            .map(|(op, state, incr, from_us, to_us)| StateBand {
                row: format!("op{}", op.0),
                from_us,
                to_us,
                kind: band_kind(state),
                incremental: incr.0,
            })
            .collect();
        let windows =
            vec![FaultWindow { from_us: window.0, to_us: window.1.min(end_us), label: "fault window".into() }];
        RunPlot { title, end_us, percent, shards, bands, faults: self.markers.clone(), windows }
    }
}

fn band_kind(state: OpState) -> BandKind {
    match state {
        OpState::Allocating => BandKind::Allocating,
        OpState::Proposing => BandKind::Proposing,
        OpState::Waiting => BandKind::Waiting,
        OpState::Applying => BandKind::Applying,
        OpState::Done => BandKind::Done,
        OpState::Failed => BandKind::Failed,
    }
}
