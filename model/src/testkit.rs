//! A hand-cranked world for unit tests: one SchemeShard, one TxAllocator and
//! a few DataShards, no engine. Messages are delivered in FIFO order, commits
//! are applied at once, backup reads are answered at once, timers are only
//! collected. The invariant checker runs after every commit, so a test that
//! drives the protocol also checks it.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::data::{BackupChain, Cell, Change, Incremental, Row};
use crate::datashard::{DataShard, DataShardDb};
use crate::ids::{Generation, IncrIdx, Key, Micros, RequestKey};
use crate::invariants::{Checker, Violation};
use crate::knobs::ProtocolKnobs;
use crate::msg::{Actor, Msg};
use crate::outbox::{BackupBatch, Command, Commit, Outbox, ReadBackup, Timer};
use crate::schemeshard::{SchemeShard, SchemeShardDb};
use crate::topology::Topology;
use crate::txallocator::{TxAllocator, TxAllocatorDb};
use crate::workload::Workload;

pub struct World {
    pub workload: Arc<Workload>,
    pub knobs: Arc<ProtocolKnobs>,
    pub ss_db: SchemeShardDb,
    pub ss: Option<SchemeShard>,
    pub ss_generation: u32,
    pub alloc_db: TxAllocatorDb,
    pub alloc: TxAllocator,
    pub ds_db: Vec<DataShardDb>,
    pub ds: Vec<DataShard>,
    /// (to, from, msg) in delivery order.
    pub queue: VecDeque<(Actor, Actor, Msg)>,
    /// What reached the Client.
    pub client_inbox: Vec<Msg>,
    pub timers: Vec<(Actor, Timer)>,
    pub checker: Checker,
    pending_violation: Option<Violation>,
    pub now: Micros,
}

/// Two tables: "t" with two shards over keys [0, 100) and [100, ∞), and
/// "u" with one shard; each with a full backup and `incrementals` incrementals.
pub fn workload(incrementals: u32) -> Workload {
    let topology = Topology::uniform(&[("t".into(), 2), ("u".into(), 1)], 200);
    let set = |v: u64| Change::Upsert { cells: [Cell::Set(Some(v)), Cell::Keep, Cell::Keep] };
    let chain = |salt: u64| {
        let mut chain = BackupChain::default();
        for k in (0..200).step_by(10) {
            chain.full.insert(k, Row { cols: [Some(k), Some(salt), None] });
        }
        for i in 1..=u64::from(incrementals) {
            let changes = (0..200).step_by(7).map(|k: Key| {
                let change = if (k + i).is_multiple_of(5) { Change::Erase } else { set(k * 100 + i + salt) };
                (k, change)
            });
            chain.incrementals.push(Incremental::from_changes(changes));
        }
        chain
    };
    Workload { topology, backups: vec![chain(0), chain(1)], restores: Vec::new() }
}

impl World {
    pub fn new(workload: Workload, knobs: ProtocolKnobs) -> World {
        let workload = Arc::new(workload);
        let knobs = Arc::new(knobs);
        let ds_db: Vec<DataShardDb> = workload
            .topology
            .shards
            .iter()
            .map(|s| DataShardDb {
                rows: crate::datashard::ShardRows::over(workload.chain(s.table).full.clone(), s.start, s.end),
                restores: Default::default(),
            })
            .collect();
        let ds = workload
            .topology
            .shards
            .iter()
            .map(|s| DataShard::boot(s.clone(), Arc::clone(&knobs), Generation(1)))
            .collect();
        let alloc_db = TxAllocatorDb::default();
        let alloc = TxAllocator::boot(&alloc_db, Generation(1));
        let mut world = World {
            checker: Checker::new(Arc::clone(&workload)),
            workload,
            knobs,
            ss_db: SchemeShardDb::default(),
            ss: None,
            ss_generation: 0,
            alloc_db,
            alloc,
            ds_db,
            ds,
            queue: VecDeque::new(),
            client_inbox: Vec::new(),
            timers: Vec::new(),
            pending_violation: None,
            now: 0,
        };
        world.boot_schemeshard();
        world
    }

    /// (Re)boots SchemeShard from its database with generation + 1.
    pub fn boot_schemeshard(&mut self) {
        self.ss_generation += 1;
        let mut out = Outbox::default();
        let ss = SchemeShard::boot(
            Arc::clone(&self.workload),
            Arc::clone(&self.knobs),
            &self.ss_db,
            Generation(self.ss_generation),
            self.now,
            &mut out,
        );
        self.ss = Some(ss);
        self.perform(Actor::SchemeShard, out);
    }

    pub fn client_sends(&mut self, msg: Msg) {
        self.queue.push_back((Actor::SchemeShard, Actor::Client, msg));
    }

    pub fn restore(&mut self, key: u64, table: &str, backups: &[u32]) {
        let backups = backups.iter().map(|i| IncrIdx(*i)).collect();
        self.client_sends(Msg::MultiIncrementalRestore { key: RequestKey(key), table: table.into(), backups });
    }

    /// Delivers messages until none is left (or `limit` deliveries).
    pub fn settle(&mut self, limit: usize) -> Result<usize, Violation> {
        let mut delivered = 0;
        while delivered < limit {
            let Some((to, from, msg)) = self.queue.pop_front() else { break };
            delivered += 1;
            self.now += 10;
            self.deliver(to, from, msg);
            if let Some(v) = self.take_violation() {
                return Err(v);
            }
        }
        Ok(delivered)
    }

    fn take_violation(&mut self) -> Option<Violation> {
        self.pending_violation.take()
    }

    pub fn deliver(&mut self, to: Actor, from: Actor, msg: Msg) {
        let mut out = Outbox::default();
        match to {
            Actor::Client => {
                self.client_inbox.push(msg);
                return;
            }
            Actor::SchemeShard => match self.ss.as_mut() {
                Some(ss) => ss.on_message(&self.ss_db, self.now, from, msg, &mut out),
                None => return,
            },
            Actor::TxAllocator => self.alloc.on_message(self.now, from, msg, &mut out),
            Actor::DataShard(s) => self.ds[s.0 as usize].on_message(&self.ds_db[s.0 as usize], self.now, msg, &mut out),
        }
        self.perform(to, out);
    }

    /// Carries out an outbox at once: sends queue, commits apply then complete.
    fn perform(&mut self, actor: Actor, mut out: Outbox) {
        let commands: Vec<Command> = out.commands.drain(..).collect();
        for command in commands {
            match command {
                Command::Send { to, msg } => self.queue.push_back((to, actor, msg)),
                Command::SetTimer { timer, .. } => self.timers.push((actor, timer)),
                Command::Commit(commit) => self.commit(actor, commit),
                Command::Read(read) => {
                    let batch = self.read(&read);
                    let Actor::DataShard(s) = actor else { unreachable!("only shards read") };
                    let mut out = Outbox::default();
                    self.ds[s.0 as usize].on_read(self.now, batch, &mut out);
                    self.perform(actor, out);
                }
            }
        }
    }

    fn commit(&mut self, actor: Actor, commit: Commit) {
        let mut out = Outbox::default();
        let result = match (actor, commit) {
            (Actor::SchemeShard, Commit::SchemeShard(c)) => {
                c.apply(&mut self.ss_db);
                let ds_db = &self.ds_db;
                let r = self.checker.on_schemeshard_commit(&c, |s| &ds_db[s.0 as usize]);
                if let Some(ss) = self.ss.as_mut() {
                    ss.on_committed(self.now, c, &mut out);
                }
                r
            }
            (Actor::TxAllocator, Commit::TxAllocator(c)) => {
                c.apply(&mut self.alloc_db);
                self.alloc.on_committed(c, &mut out);
                Ok(())
            }
            (Actor::DataShard(s), Commit::DataShard(c)) => {
                let i = s.0 as usize;
                let before = self.ds_db[i].progress(c.op, c.incr).copied();
                c.apply(&mut self.ds_db[i]);
                let spec = self.workload.topology.shard(s);
                let r = self.checker.on_datashard_commit(spec, before, &c, &self.ds_db[i]);
                self.ds[i].on_committed(c, &mut out);
                r
            }
            (a, c) => panic!("{a} cannot commit {c:?}"),
        };
        if let Err(v) = result {
            self.pending_violation.get_or_insert(v);
        }
        self.perform(actor, out);
    }

    fn read(&self, read: &ReadBackup) -> BackupBatch {
        let result = read.serve(&self.workload);
        BackupBatch { op: read.op, incr: read.incr, result }
    }
}
