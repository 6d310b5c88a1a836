//! What the agent's window may offer now, and why not (POLICY.md §6: the UI shows every
//! forbidden control disabled, with the reason in words), plus per-side explanations so an
//! agent can always see whether and why each side is recorded.

use serde::Serialize;

use crate::call::{Call, Halt, Phase};
use crate::event::{Consent, Event};
use crate::reason::Reason;
use crate::settings::{ConferenceMode, ProjectKind, RecordMode};

/// One control's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Control {
    /// Whether the control may be used now.
    pub enabled: bool,
    /// Why not, when disabled.
    pub reason: Option<Reason>,
    /// The reason in words, when disabled.
    pub message: Option<&'static str>,
}

impl Control {
    fn from_check(check: Result<(), Reason>) -> Self {
        match check {
            Ok(()) => Self {
                enabled: true,
                reason: None,
                message: None,
            },
            Err(r) => Self {
                enabled: false,
                reason: Some(r),
                message: Some(r.message()),
            },
        }
    }
}

/// Something the agent should know before acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// A receipt started now would hold the agent's voice only.
    ReceiptWithoutCustomer,
    /// A receipt for this order would replace the one already taken in this call.
    ReceiptReplacesPrevious,
}

impl Warning {
    /// The warning in words.
    pub fn message(self) -> &'static str {
        match self {
            Self::ReceiptWithoutCustomer => {
                "This voice receipt will not include the customer's voice."
            }
            Self::ReceiptReplacesPrevious => {
                "Starting a new voice receipt for this order replaces the previous one."
            }
        }
    }
}

/// The agent's controls now.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Controls {
    /// "Toggle customer voice call recording", switching it on.
    pub customer_on: Control,
    /// The same toggle, switching it off.
    pub customer_off: Control,
    /// Pause recording.
    pub pause: Control,
    /// Resume recording.
    pub resume: Control,
    /// Start voice receipt recording.
    pub receipt_start: Control,
    /// Stop voice receipt recording.
    pub receipt_stop: Control,
    /// "Customer withdrew consent": the agent reports it (§3); refused once consent is
    /// declined or already withdrawn.
    pub consent_withdrawn: Control,
    /// Warnings that apply to starting a receipt now (without an order id: those that do not
    /// depend on one; see [`Call::receipt_warnings`]).
    pub warnings: Vec<Warning>,
}

/// Why a side is or is not recorded now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SideReason {
    /// Recorded.
    Recorded,
    /// No call in progress.
    NoCall,
    /// The project's record mode is `none`.
    ProjectRecordsNothing,
    /// The conference rule stopped recording for the rest of the call.
    StoppedByConference,
    /// The conference rule discarded the call's recording.
    DiscardedByConference,
    /// Recording is paused.
    Paused,
    /// The customer declined to be recorded.
    ConsentDeclined,
    /// The customer withdrew consent during the call.
    ConsentWithdrawn,
    /// The project never records the customer outside voice receipts.
    ForbiddenByProject,
    /// The agent has customer recording switched off.
    SwitchedOff,
    /// A receipt in progress that does not include the customer.
    ReceiptWithoutCustomer,
    /// No third party is in the call.
    NoThirdParties,
    /// The project does not record third parties.
    ThirdPartiesNotRecorded,
    /// Third parties are recorded only while the customer is.
    FollowsCustomer,
}

/// One side's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SideStatus {
    /// Recorded now.
    pub recorded: bool,
    /// Why (or why not).
    pub reason: SideReason,
}

/// Every side's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SidesStatus {
    /// The agent.
    pub agent: SideStatus,
    /// The customer.
    pub customer: SideStatus,
    /// Third parties.
    pub third_parties: SideStatus,
}

impl Call {
    /// The availability of each agent control now. A control is enabled exactly when the
    /// matching event would be accepted.
    pub fn controls(&self) -> Controls {
        let control = |e: Event| Control::from_check(self.check(&e));
        let receipt_start = control(Event::ReceiptStart {
            order_id: String::from("-"),
        });
        Controls {
            customer_on: control(Event::CustomerOn),
            customer_off: control(Event::CustomerOff),
            pause: control(Event::Pause),
            resume: control(Event::Resume),
            receipt_start,
            receipt_stop: control(Event::ReceiptStop),
            consent_withdrawn: control(Event::ConsentWithdrawn),
            warnings: if receipt_start.enabled {
                self.receipt_warnings(None)
            } else {
                Vec::new()
            },
        }
    }

    /// Warnings for starting a receipt now, for `order_id` where known.
    pub fn receipt_warnings(&self, order_id: Option<&str>) -> Vec<Warning> {
        let mut warnings = Vec::new();
        if self.policy().kind != ProjectKind::ContactCenter {
            return warnings;
        }
        let mode = self.policy().record_mode;
        let with_customer = mode.receipt_forces_customer()
            || (mode.agent_may_toggle_customer() && self.customer_toggle());
        if !with_customer {
            warnings.push(Warning::ReceiptWithoutCustomer);
        }
        let replaces = !self.policy().multiple_receipts_per_order
            && order_id.is_some_and(|id| {
                self.takes()
                    .iter()
                    .any(|t| t.order_id == id && t.status == crate::TakeStatus::Kept)
            });
        if replaces {
            warnings.push(Warning::ReceiptReplacesPrevious);
        }
        warnings
    }

    /// Whether each side is recorded now, and why.
    pub fn status(&self) -> SidesStatus {
        let sides = self.sides();
        let common = if self.phase() != Phase::InCall {
            Some(SideReason::NoCall)
        } else if self.policy().record_mode == RecordMode::None {
            Some(SideReason::ProjectRecordsNothing)
        } else if self.halt() == Some(Halt::Discarded) {
            Some(SideReason::DiscardedByConference)
        } else if self.halt() == Some(Halt::Stopped) {
            Some(SideReason::StoppedByConference)
        } else if self.is_paused() {
            Some(SideReason::Paused)
        } else {
            None
        };
        let agent = common.unwrap_or(SideReason::Recorded);
        let customer = common.unwrap_or_else(|| {
            let mode = self.policy().record_mode;
            if self.consent_withdrawn() {
                SideReason::ConsentWithdrawn
            } else if self.consent() == Consent::Declined {
                SideReason::ConsentDeclined
            } else if sides.customer {
                SideReason::Recorded
            } else if self.receipt_in_progress().is_some() {
                SideReason::ReceiptWithoutCustomer
            } else if mode.agent_may_toggle_customer() {
                SideReason::SwitchedOff
            } else {
                SideReason::ForbiddenByProject
            }
        });
        let third_parties = if sides.third_parties {
            SideReason::Recorded
        } else if self.parties().is_empty() {
            SideReason::NoThirdParties
        } else if let Some(reason) = common {
            reason
        } else if self.policy().conference_mode == Some(ConferenceMode::AllParticipants) {
            SideReason::FollowsCustomer
        } else {
            SideReason::ThirdPartiesNotRecorded
        };
        let side = |reason: SideReason| SideStatus {
            recorded: reason == SideReason::Recorded,
            reason,
        };
        SidesStatus {
            agent: side(agent),
            customer: side(customer),
            third_parties: side(third_parties),
        }
    }
}
