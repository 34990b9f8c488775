//! What the store keeps of distribution: items and their versions, approvals, deliveries
//! (the outbox and the inboxes) and forwarding confirmations.

use jiff::Timestamp;
use schakel_domain::{Channel, DeliveryState, ItemKind, ItemStatus, OrgSlug, Tlp};
use schakel_rulebook::Permit;

/// An item's row: the current version's metadata (the content is in [`ItemVersionRow`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    /// `itm_…`.
    pub id: String,
    /// The current version, from 1.
    pub version: u32,
    /// Where it stands.
    pub status: ItemStatus,
    /// Its kind (current version).
    pub kind: ItemKind,
    /// Its title (current version).
    pub title: String,
    /// Its TLP (current version).
    pub tlp: Tlp,
    /// When it was created.
    pub created_at: Timestamp,
    /// The person who created it.
    pub created_by: String,
    /// When the current version was made or the status last changed.
    pub updated_at: Timestamp,
    /// The version that is a retraction notice, once the item is being retracted.
    pub retraction: Option<u32>,
}

/// One version of an item, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemVersionRow {
    /// The item.
    pub item_id: String,
    /// The version.
    pub version: u32,
    /// The item record (FORMATS.md "Item") as JSON.
    pub content: serde_json::Value,
    /// When.
    pub created_at: Timestamp,
    /// By whom.
    pub created_by: String,
}

/// Which items a listing wants (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemQuery {
    /// Only items in this state.
    pub status: Option<ItemStatus>,
    /// Only items of this kind.
    pub kind: Option<ItemKind>,
    /// Only items with this TLP.
    pub tlp: Option<Tlp>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u64,
}

/// A second person's approval of one plan of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    /// The item.
    pub item_id: String,
    /// The version approved.
    pub version: u32,
    /// The plan approved.
    pub plan_hash: String,
    /// The approver (a person).
    pub approved_by: String,
    /// When.
    pub approved_at: Timestamp,
}

/// A delivery to enqueue. It can only be made from a [`Permit`]: the recipient is the
/// permit's, so nothing the rulebook did not permit can enter the outbox.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    /// The rulebook's permit for this recipient.
    pub permit: &'a Permit,
    /// `dlv_…`: the stable id every attempt carries.
    pub id: String,
    /// The item.
    pub item_id: &'a str,
    /// Its version.
    pub version: u32,
    /// How it travels.
    pub channel: Channel,
    /// Email address or webhook URL.
    pub address: Option<&'a str>,
    /// The plan it belongs to.
    pub plan_hash: &'a str,
    /// The permitting decision (JSON text), kept with the delivery.
    pub decision: &'a str,
    /// The first state: `pending`, `delivered` (inbox) or `held` (no usable channel).
    pub state: DeliveryState,
    /// When the first attempt is due.
    pub next_attempt_at: Option<Timestamp>,
    /// Why it is held, if it is.
    pub note: Option<&'a str>,
    /// When.
    pub created_at: Timestamp,
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// `dlv_…`.
    pub id: String,
    /// The item.
    pub item_id: String,
    /// Its version.
    pub version: u32,
    /// The recipient.
    pub recipient: OrgSlug,
    /// How it travels.
    pub channel: Channel,
    /// Email address or webhook URL.
    pub address: Option<String>,
    /// The plan it belongs to.
    pub plan_hash: String,
    /// The permitting decision at sending.
    pub decision: serde_json::Value,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Option<Timestamp>,
    /// The last failure, or why it is held.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// When it arrived.
    pub delivered_at: Option<Timestamp>,
    /// When the recipient acknowledged it (inbox).
    pub acknowledged_at: Option<Timestamp>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Inbox: when a reminder went to the alternate contact.
    pub reminded_at: Option<Timestamp>,
}

/// Which deliveries a listing wants (oldest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only this item's.
    pub item_id: Option<String>,
    /// Only this recipient's.
    pub recipient: Option<OrgSlug>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only in this state.
    pub state: Option<DeliveryState>,
    /// Only those due at or before this instant (pending with `next_attempt_at` due).
    pub due_by: Option<Timestamp>,
    /// Only inbox deliveries delivered at or before this instant, not acknowledged and not
    /// yet reminded.
    pub unacknowledged_before: Option<Timestamp>,
    /// Only this version of the item.
    pub version: Option<u32>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u64,
}

/// How a delivery's state changes after an attempt or a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    /// The new state.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Option<Timestamp>,
    /// The last failure, or why it is held.
    pub last_error: Option<String>,
    /// When it arrived.
    pub delivered_at: Option<Timestamp>,
}

/// A linking organisation's confirmation that it passed an item on to one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardingRow {
    /// The delivery to the linking organisation.
    pub delivery_id: String,
    /// The member it passed the information to.
    pub member: OrgSlug,
    /// When.
    pub confirmed_at: Timestamp,
    /// Who confirmed.
    pub confirmed_by: String,
}
