//! TxAllocator: hands out transaction ids, one per restore stage. Its only
//! durable state is the next id, so an id is never handed out twice, even
//! across restarts: the answer leaves only after the counter is durable.

use crate::ids::{Generation, Micros, TxId};
use crate::msg::{Actor, Msg};
use crate::outbox::{Commit, Outbox};

/// Durable: the allocator's local database.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TxAllocatorDb {
    pub next_tx: u64,
}

impl Default for TxAllocatorDb {
    fn default() -> Self {
        TxAllocatorDb { next_tx: 1 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TxAllocatorCommit {
    pub next_tx: u64,
    /// Sent once the counter is durable.
    pub reply: Msg,
}

impl TxAllocatorCommit {
    pub fn apply(&self, db: &mut TxAllocatorDb) {
        assert!(self.next_tx > db.next_tx, "tx ids only grow");
        db.next_tx = self.next_tx;
    }
}

/// Volatile: rebuilt from the database at boot.
#[derive(Debug)]
pub struct TxAllocator {
    pub generation: Generation,
    /// Next id to hand out, counting commits not yet durable.
    next_tx: u64,
}

impl TxAllocator {
    pub fn boot(db: &TxAllocatorDb, generation: Generation) -> TxAllocator {
        TxAllocator { generation, next_tx: db.next_tx }
    }

    pub fn on_message(&mut self, _now: Micros, from: Actor, msg: Msg, out: &mut Outbox) {
        let Msg::AllocateTxId { op, cookie } = msg else {
            return;
        };
        debug_assert_eq!(from, Actor::SchemeShard);
        let tx = TxId(self.next_tx);
        self.next_tx += 1;
        out.commit(Commit::TxAllocator(TxAllocatorCommit {
            next_tx: self.next_tx,
            reply: Msg::TxIdAllocated { op, cookie, tx: Some(tx) },
        }));
    }

    /// Answers an AllocateTxId empty ("nothing now, ask again") without
    /// touching the counter: the empty answer a harness injects as a fault.
    pub fn answer_empty(&mut self, from: Actor, msg: Msg, out: &mut Outbox) {
        if let Msg::AllocateTxId { op, cookie } = msg {
            out.send(from, Msg::TxIdAllocated { op, cookie, tx: None });
        }
    }

    pub fn on_committed(&mut self, commit: TxAllocatorCommit, out: &mut Outbox) {
        out.send(Actor::SchemeShard, commit.reply);
    }
}
