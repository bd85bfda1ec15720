//! A DataShard's pipe to SchemeShard (`TDataShard::SchemeShardPipe`) and
//! its owner. YDB's pipe client reports a broken connection
//! (`TEvClientDestroyed`) to the actor that created it, not to the tablet:
//! the DataShard drops a broken pipe and re-sends what SchemeShard has not
//! acknowledged only if the DataShard itself owns the pipe.
//!
//! Before PR #53201 (<https://github.com/ydb-platform/ydb/pull/53201>) the
//! incremental-restore source actor sent its progress with its own actor
//! context, so the shared pipe, created on that first send, was owned by a
//! short-lived actor that dies when its scan ends (`Bug::Ydb53201`). After
//! a SchemeShard restart the notice goes to a dead actor, the DataShard
//! keeps the dead pipe, and everything it sends to SchemeShard later (the
//! DROP BACKUP COLLECTION's `TEvSchemaChanged`) is lost.
//!
//! Sans-IO: the engine's pipes belong to nodes and it tells the node of a
//! reset; this type decides whether a live owner hears it.

/// Who created (and so owns) the pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PipeOwner {
    /// The DataShard tablet itself: it lives as long as the pipe can.
    DataShard,
    /// A `TIncrementalRestoreSrcActor` (its scan's id): it passes away when
    /// its scan ends and never handles a pipe notice.
    SrcActor(u64),
}

/// Volatile: the DataShard's pipe to SchemeShard, once a send created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchemeShardPipe {
    pub owner: PipeOwner,
    /// The pipe client actor is alive. It dies at a reset whether or not
    /// its owner hears of it; a dead one swallows what is sent to it.
    pub connected: bool,
}

/// What became of a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Over a live pipe (new or old): the engine carries it.
    Delivered,
    /// Into a dead pipe client: lost, and nobody will know.
    Lost,
}

/// `SendViaSchemeshardPipe`: create the pipe if there is none, owned by
/// `sender`, then send over it.
pub fn send(pipe: &mut Option<SchemeShardPipe>, sender: PipeOwner) -> Sent {
    let p = pipe.get_or_insert(SchemeShardPipe { owner: sender, connected: true });
    if p.connected { Sent::Delivered } else { Sent::Lost }
}

/// The connection to SchemeShard broke. Returns true when the owner heard:
/// the DataShard forgets the pipe (the next send opens a new one) and must
/// re-send what SchemeShard has not acknowledged. Otherwise the DataShard
/// keeps a dead pipe.
pub fn on_reset(pipe: &mut Option<SchemeShardPipe>) -> bool {
    let Some(p) = pipe.as_mut() else { return false };
    p.connected = false;
    if p.owner == PipeOwner::DataShard {
        *pipe = None;
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_owned_by_the_datashard_reconnects_after_a_reset() {
        let mut pipe = None;
        assert_eq!(send(&mut pipe, PipeOwner::DataShard), Sent::Delivered);
        assert!(on_reset(&mut pipe), "the owner hears the reset");
        assert_eq!(pipe, None);
        assert_eq!(send(&mut pipe, PipeOwner::DataShard), Sent::Delivered);
    }

    #[test]
    fn a_pipe_owned_by_a_passed_away_actor_stays_dead() {
        let mut pipe = None;
        assert_eq!(send(&mut pipe, PipeOwner::SrcActor(7)), Sent::Delivered);
        assert!(!on_reset(&mut pipe), "the notice goes to the dead source actor");
        assert_eq!(send(&mut pipe, PipeOwner::DataShard), Sent::Lost, "the DataShard sends into the dead pipe");
        assert!(!on_reset(&mut pipe));
        assert_eq!(send(&mut pipe, PipeOwner::DataShard), Sent::Lost);
    }
}
