//! Why an event is refused (POLICY.md §6), in codes and in words an agent understands.

use crate::names::named_enum;

named_enum! {
    /// The reason an event was refused. The wire names are a public contract.
    pub enum Reason {
        /// The event came before `call_started`.
        CallNotStarted => "call_not_started",
        /// A second `call_started` during the call.
        CallAlreadyStarted => "call_already_started",
        /// The event came after `call_ended`.
        CallOver => "call_over",
        /// The project's record mode is `none`.
        RecordingDisabled => "recording_disabled",
        /// The record mode `both` always records the customer.
        CustomerAlwaysRecorded => "customer_always_recorded",
        /// The record mode forbids the agent to record the customer.
        CustomerRecordingForbidden => "customer_recording_forbidden",
        /// The customer declined to be recorded.
        ConsentDeclined => "consent_declined",
        /// Customer recording is already on.
        AlreadyOn => "already_on",
        /// Customer recording is already off.
        AlreadyOff => "already_off",
        /// Recording is already paused.
        AlreadyPaused => "already_paused",
        /// Recording is not paused.
        NotPaused => "not_paused",
        /// Recording is paused.
        RecordingPaused => "recording_paused",
        /// Voice receipts exist only in contact-center projects.
        ReceiptsUnavailable => "receipts_unavailable",
        /// A voice receipt is being recorded.
        ReceiptInProgress => "receipt_in_progress",
        /// No voice receipt is being recorded.
        NoReceiptInProgress => "no_receipt_in_progress",
        /// Recording stopped for good when a third party joined.
        RecordingStopped => "recording_stopped",
        /// The call's recording was discarded when a third party joined.
        RecordingDiscarded => "recording_discarded",
        /// That party is not in the call.
        UnknownParty => "unknown_party",
        /// That party is already in the call.
        PartyAlreadyPresent => "party_already_present",
    }
}

impl Reason {
    /// One sentence an agent understands, for a disabled control or a refused action.
    pub fn message(self) -> &'static str {
        match self {
            Self::CallNotStarted => "There is no call in progress.",
            Self::CallAlreadyStarted => "The call is already in progress.",
            Self::CallOver => "The call has ended.",
            Self::RecordingDisabled => "This project does not record calls.",
            Self::CustomerAlwaysRecorded => "This project always records the customer's voice.",
            Self::CustomerRecordingForbidden => {
                "This project does not allow you to record the customer's voice."
            }
            Self::ConsentDeclined => {
                "The customer declined or withdrew consent to be recorded, so their voice is not recorded in this call from then on."
            }
            Self::AlreadyOn => "Customer voice recording is already on.",
            Self::AlreadyOff => "Customer voice recording is already off.",
            Self::AlreadyPaused => "Recording is already paused.",
            Self::NotPaused => "Recording is not paused.",
            Self::RecordingPaused => "Recording is paused: resume recording first.",
            Self::ReceiptsUnavailable => {
                "Voice receipts are not used in customer service projects."
            }
            Self::ReceiptInProgress => "A voice receipt is being recorded: stop it first.",
            Self::NoReceiptInProgress => "No voice receipt is being recorded.",
            Self::RecordingStopped => {
                "Recording stopped for the rest of this call when a third party joined."
            }
            Self::RecordingDiscarded => {
                "This call is not recorded: the project keeps no recording of conference calls."
            }
            Self::UnknownParty => "That party is not in the call.",
            Self::PartyAlreadyPresent => "That party is already in the call.",
        }
    }
}
