//! Invariant 5: a stale message changes nothing. A message is stale against
//! its receiver's durable state (or, for the coordinator, the generation the
//! engine gave it): a request stamped older than the one the DataShard
//! durably accepted for that incremental, or a response stamped with an
//! older coordinator generation than the one receiving it. Judged after the
//! receiver's handler ran: a stale message whose handler asked for a commit
//! broke the rule (`NoGenerationCheck` is caught here).

use super::{Check, Invariant, Violation, is_stale_request};
use crate::datashard::DataShardDb;
use crate::ids::Generation;
use crate::msg::Msg;

/// The receiver `msg` is judged against: the coordinator's current
/// generation, or a DataShard's durable database.
pub enum Receiver<'a> {
    SchemeShard(Generation),
    DataShard(&'a DataShardDb),
}

/// Why `msg` is stale at `receiver`, or `None` if it is not.
pub fn staleness(receiver: Receiver<'_>, msg: &Msg) -> Option<String> {
    match (receiver, msg) {
        (Receiver::SchemeShard(current), Msg::IncrementalRestoreResponse(resp)) => (resp.stamp.generation < current)
            .then(|| {
                format!(
                    "a response of DataShard {} stamped generation {} reached SchemeShard generation {}",
                    resp.shard.0, resp.stamp.generation.0, current.0
                )
            }),
        (Receiver::DataShard(db), Msg::IncrementalRestoreRequest(req)) => is_stale_request(db, req).map(|accepted| {
            format!(
                "a request stamped {} reached DataShard {} which had durably accepted {} for incremental {}",
                req.stamp, req.shard.0, accepted, req.incr.0
            )
        }),
        _ => None,
    }
}

/// A stale message (`stale`, from `staleness`) must not produce a commit:
/// `committed` says whether its handler asked for one.
pub fn check_stale_no_effect(stale: Option<&str>, committed: bool) -> Check {
    match stale {
        Some(what) if committed => Err(Violation::new(
            Invariant::StaleHasNoEffect,
            format!(
                "{what}; it should have been dropped, but the receiver committed a change. A stale \
                 message (older generation or round) must never change durable state."
            ),
        )),
        _ => Ok(()),
    }
}
