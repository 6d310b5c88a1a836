//! Recording settings (POLICY.md §1): global and per project, their validation, and their
//! resolution into the [`Policy`] one call obeys.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::error::InputError;
use crate::json::{Object, quote};
use crate::names::{Named, list, named_enum};

named_enum! {
    /// The two kinds of project; they offer different settings.
    pub enum ProjectKind {
        /// Outbound contact-center project.
        ContactCenter => "contact_center",
        /// Customer-service (omni) project.
        CustomerService => "customer_service",
    }
}

named_enum! {
    /// Who is recorded in a two-party call (POLICY.md §3).
    pub enum RecordMode {
        /// Agent and customer, always.
        Both => "both",
        /// Agent; the agent may switch customer recording on.
        AgentOnlyAllowCustomer => "agent_only_allow_customer",
        /// Agent only; the customer can never be recorded.
        AgentOnlyForbidCustomer => "agent_only_forbid_customer",
        /// Agent; customer during voice receipts, and when the agent switches it on.
        AgentOnlyReceiptsAllowCustomer => "agent_only_receipts_allow_customer",
        /// Agent; customer during voice receipts only.
        AgentOnlyReceiptsForbidCustomer => "agent_only_receipts_forbid_customer",
        /// Nobody (customer-service projects only).
        None => "none",
    }
}

named_enum! {
    /// What happens when third parties join a customer-service call (POLICY.md §4).
    pub enum ConferenceMode {
        /// Third parties are recorded exactly when the customer is.
        AllParticipants => "all_participants",
        /// A call that becomes a conference keeps no recording at all.
        None => "none",
        /// Third parties are never recorded.
        AgentAndCustomerOnly => "agent_and_customer_only",
        /// Recording stops for everyone, for good, when the first third party joins.
        StopOnThirdParty => "stop_on_third_party",
    }
}

impl RecordMode {
    /// The record modes a project of `kind` offers (besides `global`).
    pub fn for_kind(kind: ProjectKind) -> &'static [RecordMode] {
        use RecordMode::*;
        match kind {
            ProjectKind::ContactCenter => &[
                Both,
                AgentOnlyAllowCustomer,
                AgentOnlyForbidCustomer,
                AgentOnlyReceiptsAllowCustomer,
                AgentOnlyReceiptsForbidCustomer,
            ],
            ProjectKind::CustomerService => {
                &[Both, AgentOnlyAllowCustomer, AgentOnlyForbidCustomer, None]
            }
        }
    }

    /// Whether the agent may switch customer recording on and off (outside receipts).
    pub fn agent_may_toggle_customer(self) -> bool {
        matches!(
            self,
            Self::AgentOnlyAllowCustomer | Self::AgentOnlyReceiptsAllowCustomer
        )
    }

    /// Whether a voice receipt records the customer whatever the agent's toggle says.
    pub fn receipt_forces_customer(self) -> bool {
        matches!(
            self,
            Self::Both
                | Self::AgentOnlyReceiptsAllowCustomer
                | Self::AgentOnlyReceiptsForbidCustomer
        )
    }
}

/// A project setting that is either `"global"` (take the global value) or its own value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Choice<T> {
    /// Use the global setting for the project's kind.
    Global,
    /// This project's own value.
    Value(T),
}

impl<T: Copy> Choice<T> {
    /// The project's value, or `global` when the project defers to it.
    pub fn or(self, global: T) -> T {
        match self {
            Self::Global => global,
            Self::Value(v) => v,
        }
    }
}

impl<T: Named> Serialize for Choice<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Global => s.serialize_str("global"),
            Self::Value(v) => s.serialize_str(v.name()),
        }
    }
}

/// How long recordings are kept: a whole number of calendar months, 1 to 120.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u8")]
pub struct HoldingMonths(u8);

impl TryFrom<u64> for HoldingMonths {
    type Error = String;
    fn try_from(months: u64) -> Result<Self, String> {
        Self::new(months)
            .ok_or_else(|| format!("holding_months must be an integer from 1 to 120, got {months}"))
    }
}

impl From<HoldingMonths> for u8 {
    fn from(m: HoldingMonths) -> u8 {
        m.0
    }
}

impl HoldingMonths {
    /// The smallest allowed value.
    pub const MIN: u8 = 1;
    /// The largest allowed value (ten years).
    pub const MAX: u8 = 120;
    /// The default when nothing overrides it.
    pub const DEFAULT: Self = Self(3);

    /// `months` if it is within 1..=120.
    pub fn new(months: u64) -> Option<Self> {
        u8::try_from(months)
            .ok()
            .filter(|m| (Self::MIN..=Self::MAX).contains(m))
            .map(Self)
    }

    /// The number of months.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// How long an agent's app may record under settings cached while the store cannot be
/// reached, counted from when they were last confirmed: 1 to 90 days (POLICY.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u8")]
pub struct OfflineDays(u8);

impl TryFrom<u64> for OfflineDays {
    type Error = String;
    fn try_from(days: u64) -> Result<Self, String> {
        Self::new(days).ok_or_else(|| {
            format!("offline_policy_days must be an integer from 1 to 90, got {days}")
        })
    }
}

impl From<OfflineDays> for u8 {
    fn from(d: OfflineDays) -> u8 {
        d.0
    }
}

impl OfflineDays {
    /// The largest allowed value.
    pub const MAX: u8 = 90;
    /// The default.
    pub const DEFAULT: Self = Self(7);

    /// `days` if it is within 1..=90.
    pub fn new(days: u64) -> Option<Self> {
        u8::try_from(days)
            .ok()
            .filter(|d| (1..=Self::MAX).contains(d))
            .map(Self)
    }

    /// The number of days.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// The global contact-center defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContactCenterDefaults {
    /// The record mode of contact-center projects set to `global`.
    pub record_mode: RecordMode,
}

/// The global customer-service defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CustomerServiceDefaults {
    /// The record mode of customer-service projects set to `global`.
    pub record_mode: RecordMode,
    /// The conference mode of customer-service projects set to `global`.
    pub conference_mode: ConferenceMode,
}

/// The global settings (the Projects page's Settings subpage): one concrete value for each
/// setting a project may leave at `global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GlobalSettings {
    /// Defaults for contact-center projects.
    pub contact_center: ContactCenterDefaults,
    /// Defaults for customer-service projects.
    pub customer_service: CustomerServiceDefaults,
    /// How long recordings are kept when a project does not say.
    pub holding_months: HoldingMonths,
    /// How long voice receipts are kept when a project does not say; `None`: as their call.
    pub receipt_holding_months: Option<HoldingMonths>,
    /// How long an app may record under cached settings while the store is out of reach.
    pub offline_policy_days: OfflineDays,
}

impl Default for GlobalSettings {
    fn default() -> Self {
        Self {
            contact_center: ContactCenterDefaults {
                record_mode: RecordMode::Both,
            },
            customer_service: CustomerServiceDefaults {
                record_mode: RecordMode::Both,
                conference_mode: ConferenceMode::AgentAndCustomerOnly,
            },
            holding_months: HoldingMonths::DEFAULT,
            receipt_holding_months: None,
            offline_policy_days: OfflineDays::DEFAULT,
        }
    }
}

/// One project's recording settings, validated for its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectSettings {
    /// The project's id, where given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Contact center or customer service.
    pub kind: ProjectKind,
    /// Who is recorded.
    pub record_mode: Choice<RecordMode>,
    /// What happens in conference calls: `Some` for customer-service projects only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conference_mode: Option<Choice<ConferenceMode>>,
    /// Every call begins with recording paused.
    pub start_paused: bool,
    /// Agents may hear other agents' recordings (contact center only).
    pub agents_can_listen_to_others: bool,
    /// Several voice receipts per order are kept (contact center only).
    pub multiple_receipts_per_order: bool,
    /// Months to keep recordings; `None` takes the global value.
    pub holding_months: Option<HoldingMonths>,
    /// Months to keep voice receipts (contact center only); `None` takes the global value.
    pub receipt_holding_months: Option<HoldingMonths>,
}

/// A settings document as `callrec simulate` reads it: the global settings and one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsFile {
    /// The global settings (defaults where the document leaves them out).
    pub global: GlobalSettings,
    /// The project.
    pub project: ProjectSettings,
}

/// The resolved policy of a project: every `global` replaced by the concrete global value.
/// This is what one call obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Contact center or customer service.
    pub kind: ProjectKind,
    /// Who is recorded.
    pub record_mode: RecordMode,
    /// What happens in conference calls; `None` for contact-center projects.
    pub conference_mode: Option<ConferenceMode>,
    /// Every call begins with recording paused.
    pub start_paused: bool,
    /// Agents may hear other agents' recordings.
    pub agents_can_listen_to_others: bool,
    /// Several voice receipts per order are kept.
    pub multiple_receipts_per_order: bool,
    /// Months to keep recordings.
    pub holding_months: HoldingMonths,
    /// Months to keep each voice receipt take (POLICY.md §8); `None` for customer-service
    /// projects (no receipts). A policy written before receipts had their own holding time
    /// reads as `None`: they are kept as long as their call.
    #[serde(default)]
    pub receipt_holding_months: Option<HoldingMonths>,
}

impl Policy {
    /// How long this policy keeps a voice receipt: its own holding time, else its call's.
    pub fn receipt_months(&self) -> HoldingMonths {
        self.receipt_holding_months.unwrap_or(self.holding_months)
    }
}

impl ProjectSettings {
    /// The policy this project's calls obey under `global`.
    pub fn resolve(&self, global: &GlobalSettings) -> Policy {
        let (record_mode, conference_mode) = match self.kind {
            ProjectKind::ContactCenter => {
                (self.record_mode.or(global.contact_center.record_mode), None)
            }
            ProjectKind::CustomerService => (
                self.record_mode.or(global.customer_service.record_mode),
                Some(
                    self.conference_mode
                        .unwrap_or(Choice::Global)
                        .or(global.customer_service.conference_mode),
                ),
            ),
        };
        let holding_months = self.holding_months.unwrap_or(global.holding_months);
        // Receipts exist on contact-center projects only; theirs falls back to the global
        // value, and where that is null too, to the call's own holding time.
        let receipt_holding_months = (self.kind == ProjectKind::ContactCenter).then(|| {
            self.receipt_holding_months
                .or(global.receipt_holding_months)
                .unwrap_or(holding_months)
        });
        Policy {
            kind: self.kind,
            record_mode,
            conference_mode,
            start_paused: self.start_paused,
            agents_can_listen_to_others: self.agents_can_listen_to_others,
            multiple_receipts_per_order: self.multiple_receipts_per_order,
            holding_months,
            receipt_holding_months,
        }
    }

    /// Reads and validates a project object (POLICY.md §1, §9, §10). `path` names it in errors.
    pub fn from_json_value(value: &Value, path: &str) -> Result<Self, InputError> {
        let o = Object::new(value, path)?;
        o.deny_unknown(PROJECT_FIELDS, "a project")?;
        let id = o.nonempty_str("id")?.map(str::to_owned);
        let kind = o.name("kind", ProjectKind::ALL)?.ok_or_else(|| {
            o.missing("kind", &format!("valid values: {}", list(ProjectKind::ALL)))
        })?;
        let modes = RecordMode::for_kind(kind);
        let record_mode = choice(&o, "record_mode", modes, &format!("{kind} projects"))?
            .ok_or_else(|| {
                o.missing(
                    "record_mode",
                    &format!("valid values for {kind} projects: global, {}", list(modes)),
                )
            })?;
        let conference_mode = match kind {
            ProjectKind::ContactCenter => {
                // Contact-center projects have no conference option (§4): only `global` is
                // accepted, and it resolves to nothing.
                choice::<ConferenceMode>(&o, "conference_mode", &[], "contact_center projects")?;
                None
            }
            ProjectKind::CustomerService => Some(
                choice(
                    &o,
                    "conference_mode",
                    ConferenceMode::ALL,
                    "customer_service projects",
                )?
                .unwrap_or(Choice::Global),
            ),
        };
        let start_paused = o.bool("start_paused")?.unwrap_or(false);
        let agents_can_listen_to_others =
            contact_center_only(&o, kind, "agents_can_listen_to_others")?;
        let multiple_receipts_per_order =
            contact_center_only(&o, kind, "multiple_receipts_per_order")?;
        let holding_months = optional_months(&o, "holding_months")?;
        let receipt_holding_months = optional_months(&o, "receipt_holding_months")?;
        if receipt_holding_months.is_some() && kind == ProjectKind::CustomerService {
            return Err(o.error(
                "receipt_holding_months",
                "does not exist for customer_service projects (they have no voice receipts); leave it out or set it to null",
            ));
        }
        Ok(Self {
            id,
            kind,
            record_mode,
            conference_mode,
            start_paused,
            agents_can_listen_to_others,
            multiple_receipts_per_order,
            holding_months,
            receipt_holding_months,
        })
    }
}

const PROJECT_FIELDS: &[&str] = &[
    "id",
    "kind",
    "record_mode",
    "conference_mode",
    "start_paused",
    "agents_can_listen_to_others",
    "multiple_receipts_per_order",
    "holding_months",
    "receipt_holding_months",
];

/// Reads `"global"` or one of `allowed`; `whose` says whose values they are in the message.
fn choice<T: Named>(
    o: &Object<'_>,
    key: &str,
    allowed: &[T],
    whose: &str,
) -> Result<Option<Choice<T>>, InputError> {
    let Some(v) = o.get(key) else {
        return Ok(None);
    };
    if v.as_str() == Some("global") {
        return Ok(Some(Choice::Global));
    }
    if let Some(t) = v
        .as_str()
        .and_then(T::from_name)
        .filter(|t| allowed.contains(t))
    {
        return Ok(Some(Choice::Value(t)));
    }
    let valid = if allowed.is_empty() {
        "global (or leave the field out)".to_owned()
    } else {
        format!("global, {}", list(allowed))
    };
    let got = if v.is_string() {
        format!("{} is not valid for {whose}", quote(v))
    } else {
        format!("expected a string, got {}", quote(v))
    };
    Err(o.error(key, format!("{got}; valid values: {valid}")))
}

/// A boolean setting that exists only for contact-center projects: on a customer-service
/// project it may be left out or `false`, nothing else.
fn contact_center_only(o: &Object<'_>, kind: ProjectKind, key: &str) -> Result<bool, InputError> {
    let v = o.bool(key)?.unwrap_or(false);
    if v && kind == ProjectKind::CustomerService {
        return Err(o.error(
            key,
            "does not exist for customer_service projects; leave it out or set it to false",
        ));
    }
    Ok(v)
}

const MONTHS_ALLOWED: &str = "an integer from 1 to 120";

fn months(o: &Object<'_>, key: &str) -> Result<Option<HoldingMonths>, InputError> {
    Ok(
        o.integer(key, 1..=u64::from(HoldingMonths::MAX), MONTHS_ALLOWED)?
            .and_then(HoldingMonths::new),
    )
}

/// `holding_months` of a project: absent or `null` defer to the global value.
fn optional_months(o: &Object<'_>, key: &str) -> Result<Option<HoldingMonths>, InputError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => months(o, key).map_err(|e| match e {
            InputError::Field { field, problem } => InputError::Field {
                field,
                problem: problem.replacen(MONTHS_ALLOWED, &format!("null or {MONTHS_ALLOWED}"), 1),
            },
            other => other,
        }),
    }
}

impl GlobalSettings {
    /// Reads and validates the `global` object; every field may be left out (§10).
    pub fn from_json_value(value: &Value, path: &str) -> Result<Self, InputError> {
        use RecordMode as M;
        let o = Object::new(value, path)?;
        o.deny_unknown(
            &[
                "contact_center",
                "customer_service",
                "holding_months",
                "receipt_holding_months",
                "offline_policy_days",
            ],
            "global settings",
        )?;
        let mut g = Self::default();
        if let Some(cc) = o.object("contact_center")? {
            cc.deny_unknown(&["record_mode"], "global contact-center settings")?;
            let modes = RecordMode::for_kind(ProjectKind::ContactCenter);
            if let Some(m) = cc.name("record_mode", modes)? {
                g.contact_center.record_mode = m;
            }
        }
        if let Some(cs) = o.object("customer_service")? {
            cs.deny_unknown(
                &["record_mode", "conference_mode"],
                "global customer-service settings",
            )?;
            let modes = &[
                M::Both,
                M::AgentOnlyAllowCustomer,
                M::AgentOnlyForbidCustomer,
                M::None,
            ];
            if let Some(m) = cs.name("record_mode", modes)? {
                g.customer_service.record_mode = m;
            }
            if let Some(c) = cs.name("conference_mode", ConferenceMode::ALL)? {
                g.customer_service.conference_mode = c;
            }
        }
        if o.has("holding_months") {
            g.holding_months = months(&o, "holding_months")?.unwrap_or(HoldingMonths::DEFAULT);
        }
        g.receipt_holding_months = optional_months(&o, "receipt_holding_months")?;
        if o.has("offline_policy_days") {
            g.offline_policy_days = o
                .integer(
                    "offline_policy_days",
                    1..=u64::from(OfflineDays::MAX),
                    "an integer from 1 to 90",
                )?
                .and_then(OfflineDays::new)
                .unwrap_or(OfflineDays::DEFAULT);
        }
        Ok(g)
    }
}

impl SettingsFile {
    /// Parses a settings document (POLICY.md §9).
    pub fn from_json(text: &str) -> Result<Self, InputError> {
        let value: Value = serde_json::from_str(text)?;
        Self::from_json_value(&value)
    }

    /// Reads a settings document already parsed as JSON.
    pub fn from_json_value(value: &Value) -> Result<Self, InputError> {
        let o = Object::new(value, "")?;
        o.deny_unknown(&["global", "project"], "a settings document")?;
        let global = match o.get("global") {
            Some(v) => GlobalSettings::from_json_value(v, "global")?,
            None => GlobalSettings::default(),
        };
        let project = o
            .get("project")
            .ok_or_else(|| o.missing("project", "a settings document needs a project object"))?;
        let project = ProjectSettings::from_json_value(project, "project")?;
        Ok(Self { global, project })
    }

    /// The project's resolved policy.
    pub fn resolve(&self) -> Policy {
        self.project.resolve(&self.global)
    }
}
