//! What a run records for people: the short log (one line per coordinator
//! state transition and per fault), and the data of the progress plot.

use std::collections::BTreeMap;

use restoresim_model::ids::{IncrIdx, OperationId};
use restoresim_model::msg::Actor;
use restoresim_model::note::Note;
use restoresim_model::progress::OpState;
use restoresim_reports::{
    BandKind, FaultKind, FaultMarker, FaultWindow, MarkKind, PercentSeries, RunPlot, SeriesKind, ShardSeries,
    StateBand, TimeMark,
};

use crate::engine::{InjectedFault, Micros};
use crate::restore::{RestoreSystem, actor_of};

/// At most this many fault markers are kept for the plot (drops can be many).
const MAX_MARKERS: usize = 5_000;

#[derive(Debug, Default)]
pub struct Recorder {
    /// Read through `take_log`, which writes the last boot run's line.
    log: Vec<String>,
    /// Per op: the open band (state, incr, since).
    open: BTreeMap<OperationId, (OpState, IncrIdx, Micros)>,
    bands: Vec<(OperationId, OpState, IncrIdx, Micros, Micros)>,
    markers: Vec<FaultMarker>,
    /// Partition windows `(from, until, label)`, shaded on the plot.
    partitions: Vec<(Micros, Micros, String)>,
    /// The DataShard boots log line `BootRun::line` sums up, its text
    /// written once the run ends (see `booted`).
    boots: Option<BootRun>,
}

/// DataShards `first..=last` that booted at `at`, one after the other,
/// said in log line `line`.
#[derive(Debug, Clone, Copy)]
struct BootRun {
    at: Micros,
    first: u32,
    last: u32,
    line: usize,
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
            Note::Booted { actor } => self.booted(now, *actor),
            Note::DropAnswered { path, status } => {
                self.log.push(format!("{} DROP {path:?}: {status:?}", fmt_time(now)))
            }
            Note::LostInDeadPipe { shard, what } => self.log.push(format!(
                "{} DataShard{} sent {what} into its dead pipe to SchemeShard: lost",
                fmt_time(now),
                shard.0
            )),
            _ => {}
        }
    }

    /// One line per boot, except that DataShards booting at one instant one
    /// after the other (shard n + 1 right after shard n, nothing logged
    /// between) share a line: a table's shards all boot at time 0, and at a
    /// million shards a line each was 33 MB of log saying one thing. A
    /// restart mid-run is a boot on its own, so it keeps a line of its own.
    /// A boot that extends the run is only counted: the line is written
    /// once, when the run ends (writing it at every boot was ~2 % of
    /// scale-100k's instructions).
    fn booted(&mut self, now: Micros, actor: Actor) {
        if let Actor::DataShard(shard) = actor
            && let Some(run) = self.boots.as_mut()
            && run.at == now
            && run.last.checked_add(1) == Some(shard.0)
            && run.line + 1 == self.log.len()
        {
            run.last = shard.0;
            return;
        }
        self.end_boot_run();
        self.boots = match actor {
            Actor::DataShard(shard) => Some(BootRun { at: now, first: shard.0, last: shard.0, line: self.log.len() }),
            _ => None,
        };
        self.log.push(format!("{} {actor} booted", fmt_time(now)));
    }

    /// Writes the line of the boot run that ended, if more than one shard
    /// booted in it (one shard's line says so already). Its line index
    /// stays valid: the log only grows.
    fn end_boot_run(&mut self) {
        if let Some(run) = self.boots.take()
            && run.last != run.first
        {
            let (first, last) = (run.first, run.last);
            self.log[run.line] = format!(
                "{} DataShard{first}..DataShard{last} booted ({} DataShards)",
                fmt_time(run.at),
                last - first + 1
            );
        }
    }

    /// Appends a line of the harness's own (a violation) to the log.
    pub fn push_line(&mut self, line: String) {
        self.log.push(line);
    }

    /// The log, every line written.
    pub fn take_log(&mut self) -> Vec<String> {
        self.end_boot_run();
        std::mem::take(&mut self.log)
    }

    pub fn crash(&mut self, now: Micros, node: u32, kill_on_commit: bool) {
        let actor = actor_of(node);
        let (kind, what) =
            if kill_on_commit { (FaultKind::KillOnCommit, "killed on commit") } else { (FaultKind::Crash, "crashed") };
        self.log.push(format!("{} {actor} {what}", fmt_time(now)));
        self.marker(FaultMarker { at_us: now, kind, label: actor.to_string() });
    }

    /// A fault from the engine's log. Crashes and kills are marked from
    /// their events instead (a scheduled restart may never happen), and
    /// reorders are not marked (they are many and show in nothing).
    pub fn injected(&mut self, now: Micros, fault: &InjectedFault) {
        let link = |from: &u32, to: &u32| format!("{}→{}", actor_of(*from), actor_of(*to));
        let (kind, label) = match fault {
            InjectedFault::Drop { from, to, .. } => (FaultKind::Drop, link(from, to)),
            InjectedFault::Duplicate { from, to, .. } => (FaultKind::Duplicate, link(from, to)),
            InjectedFault::ReadError { node, fatal, .. } => {
                let what = if *fatal { "fatal read error" } else { "read error" };
                (FaultKind::Other, format!("{} {what}", actor_of(*node)))
            }
            InjectedFault::Refuse { node, .. } => (FaultKind::Other, format!("{} empty answer", actor_of(*node))),
            InjectedFault::SlowCommit { node, .. } => (FaultKind::Other, format!("{} slow commit", actor_of(*node))),
            InjectedFault::Partition(p) => {
                let nodes: Vec<String> = p.nodes.iter().map(|n| actor_of(*n).to_string()).collect();
                let arrow = if p.one_way { "one-way partition" } else { "partition" };
                self.log.push(format!(
                    "{} {arrow} of {} from {} until {}",
                    fmt_time(now),
                    nodes.join(", "),
                    fmt_time(p.from),
                    fmt_time(p.until)
                ));
                self.partitions.push((p.from, p.until, format!("{arrow}: {}", nodes.join(", "))));
                return;
            }
            InjectedFault::Delay { .. } | InjectedFault::KillOnCommit { .. } | InjectedFault::Restart { .. } => return,
        };
        self.marker(FaultMarker { at_us: now, kind, label });
    }

    fn marker(&mut self, marker: FaultMarker) {
        if self.markers.len() < MAX_MARKERS {
            self.markers.push(marker);
        }
    }

    /// The plot of the run, from what was recorded and the durable tracker.
    /// The fault window is shaded only when a fault happened; a violation
    /// and a liveness deadline are marked; a liveness failure's axis ends
    /// shortly after the last thing that happened (a budget of an hour
    /// would squeeze a 100 ms restore into one pixel).
    pub fn plot(&self, title: String, end_us: Micros, system: &RestoreSystem, marks: PlotMarks) -> RunPlot {
        let end_us = if marks.zoom { self.zoomed_end(end_us, system, marks.deadline) } else { end_us };
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
            durable.extend(points.iter().map(|p| (p.at(), p.bp() as f64 / 100.0)));
            percent.push(PercentSeries {
                label: format!("op{} durable", op.0),
                kind: SeriesKind::Durable,
                points: durable,
            });
        }
        let shards = system
            .tracker
            .shard_series()
            .iter()
            .enumerate()
            .map(|(i, points)| {
                let mut pts = vec![(0, 0.0)];
                pts.extend(points.iter().map(|p| (p.at(), p.bp() as f64 / 100.0)));
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
        let window = marks.window;
        let mut windows = Vec::new();
        if marks.faulted && window.0 < end_us {
            windows.push(FaultWindow { from_us: window.0, to_us: window.1.min(end_us), label: "fault window".into() });
        }
        windows.extend(self.partitions.iter().filter(|(from, ..)| *from < end_us).map(|(from, until, label)| {
            FaultWindow { from_us: *from, to_us: (*until).min(end_us), label: label.clone() }
        }));
        let mut time_marks = Vec::new();
        let beyond = |at: Micros| if at > end_us { "→ " } else { "" };
        if let Some((at, invariant)) = marks.violation {
            let label = format!("{}{invariant} at {}", beyond(at), fmt_time(at));
            time_marks.push(TimeMark { at_us: at, kind: MarkKind::Violation, label });
        }
        if let Some(at) = marks.deadline {
            let label = format!("{}liveness deadline {}", beyond(at), fmt_time(at));
            time_marks.push(TimeMark { at_us: at, kind: MarkKind::Deadline, label });
        }
        RunPlot { title, end_us, percent, shards, bands, faults: self.markers.clone(), windows, marks: time_marks }
    }

    /// Shortly after the last recorded activity (durable progress, a state
    /// change, a fault; not the Client's polls, which go on while nothing
    /// moves), or after the deadline if that is near; never beyond `end_us`.
    fn zoomed_end(&self, end_us: Micros, system: &RestoreSystem, deadline: Option<Micros>) -> Micros {
        let progress = system.tracker.op_points().filter_map(|(_, p)| p.last().map(|p| p.at()));
        let shards = system.tracker.last_shard_point_at();
        let states = self.bands.iter().map(|b| b.4).chain(self.open.values().map(|(_, _, since)| *since));
        let faults = self.markers.iter().map(|m| m.at_us);
        let last = progress.chain(shards).chain(states).chain(faults).max().unwrap_or(0);
        let mut zoomed = last.saturating_add(last / 10).max(1_000);
        if let Some(d) = deadline.filter(|d| *d <= zoomed.saturating_mul(2)) {
            zoomed = zoomed.max(d.saturating_add(d / 20));
        }
        zoomed.min(end_us)
    }
}

/// What the plot marks besides the data.
#[derive(Clone, Debug, Default)]
pub struct PlotMarks {
    /// The fault window `[from, until)`, shaded when `faulted`.
    pub window: (Micros, Micros),
    /// Some fault happened in the run.
    pub faulted: bool,
    /// Where an invariant broke, and its id.
    pub violation: Option<(Micros, String)>,
    /// The liveness deadline, for a liveness failure.
    pub deadline: Option<Micros>,
    /// End the axis shortly after the last activity (liveness failures).
    pub zoom: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use restoresim_model::ids::ShardIdx;

    /// DataShards booting together share a line; a boot at another
    /// instant, out of order, or after another line has one of its own.
    #[test]
    fn a_tables_shards_booting_together_share_a_log_line() {
        let mut r = Recorder::default();
        let boot = |r: &mut Recorder, at, actor| r.note(at, &Note::Booted { actor });
        boot(&mut r, 0, Actor::SchemeShard);
        for s in 0..4 {
            boot(&mut r, 0, Actor::DataShard(ShardIdx(s)));
        }
        boot(&mut r, 0, Actor::DataShard(ShardIdx(9)));
        boot(&mut r, 0, Actor::DataShard(ShardIdx(10)));
        boot(&mut r, 5, Actor::DataShard(ShardIdx(11)));
        r.crash(7, crate::restore::node_of(Actor::DataShard(ShardIdx(12))), false);
        boot(&mut r, 7, Actor::DataShard(ShardIdx(13)));
        boot(&mut r, 7, Actor::TxAllocator);
        boot(&mut r, 7, Actor::DataShard(ShardIdx(14)));
        assert_eq!(
            r.take_log(),
            [
                "0.000000s SchemeShard booted",
                "0.000000s DataShard0..DataShard3 booted (4 DataShards)",
                "0.000000s DataShard9..DataShard10 booted (2 DataShards)",
                "0.000005s DataShard11 booted",
                "0.000007s DataShard12 crashed",
                "0.000007s DataShard13 booted",
                "0.000007s TxAllocator booted",
                "0.000007s DataShard14 booted",
            ]
        );
    }
}
