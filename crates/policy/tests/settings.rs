//! Settings: the §9 format, validation with precise errors, and resolution of `global`.

use callrec_policy::{
    ConferenceMode, HoldingMonths, InputError, Policy, ProjectKind, RecordMode, SettingsFile,
};
use rstest::rstest;
use serde_json::{Value, json};

fn parse(v: Value) -> Result<SettingsFile, InputError> {
    SettingsFile::from_json(&v.to_string())
}

fn resolve(v: Value) -> Policy {
    parse(v).expect("valid settings").resolve()
}

/// The error's field path and message, for inputs that must be refused.
fn refuse(v: Value) -> (String, String) {
    let err = parse(v).expect_err("must be refused");
    let field = err.field_path().unwrap_or("").to_owned();
    (field, err.to_string())
}

#[test]
fn the_policy_md_example_resolves() {
    let policy = resolve(json!({
        "global": {"contact_center": {"record_mode": "both"},
                   "customer_service": {"record_mode": "both", "conference_mode": "all_participants"},
                   "holding_months": 3, "receipt_holding_months": null, "offline_policy_days": 7},
        "project": {"id": "sales-fr", "kind": "contact_center", "record_mode": "global",
                    "start_paused": false, "agents_can_listen_to_others": false,
                    "multiple_receipts_per_order": false, "holding_months": null}}));
    assert_eq!(
        serde_json::to_value(policy).expect("serializes"),
        json!({"kind": "contact_center", "record_mode": "both", "conference_mode": null,
               "start_paused": false, "agents_can_listen_to_others": false,
               "multiple_receipts_per_order": false, "holding_months": 3,
               "receipt_holding_months": 3})
    );
}

#[test]
fn receipts_holding_time_falls_back_to_the_global_one_then_to_the_calls() {
    let months = |global: Value, project: Value| {
        let mut p = json!({"kind": "contact_center", "record_mode": "both", "holding_months": 6});
        if let (Value::Object(p), Value::Object(extra)) = (&mut p, project) {
            p.extend(extra);
        }
        resolve(json!({"global": global, "project": p}))
            .receipt_holding_months
            .map(HoldingMonths::get)
    };
    assert_eq!(
        months(json!({}), json!({})),
        Some(6),
        "as the call by default"
    );
    assert_eq!(
        months(json!({"receipt_holding_months": 24}), json!({})),
        Some(24)
    );
    assert_eq!(
        months(
            json!({"receipt_holding_months": 24}),
            json!({"receipt_holding_months": 2})
        ),
        Some(2),
        "shorter than the call's is allowed"
    );
    assert_eq!(
        months(
            json!({"receipt_holding_months": 24}),
            json!({"receipt_holding_months": null})
        ),
        Some(24)
    );
    // Customer-service projects have no receipts: null, whatever the global value.
    let cs = resolve(json!({"global": {"receipt_holding_months": 24},
                            "project": {"kind": "customer_service", "record_mode": "both", "receipt_holding_months": null}}));
    assert_eq!(cs.receipt_holding_months, None);
}

#[rstest]
#[case::receipts_on_customer_service(
    json!({"project": {"kind": "customer_service", "record_mode": "both", "receipt_holding_months": 12}}),
    "project.receipt_holding_months",
    "does not exist for customer_service projects"
)]
#[case::receipts_out_of_range(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "receipt_holding_months": 121}}),
    "project.receipt_holding_months",
    "null or an integer from 1 to 120"
)]
#[case::global_receipts_zero(
    json!({"global": {"receipt_holding_months": 0}, "project": {"kind": "contact_center", "record_mode": "both"}}),
    "global.receipt_holding_months",
    "null or an integer from 1 to 120"
)]
#[case::offline_days_null(
    json!({"global": {"offline_policy_days": null}, "project": {"kind": "contact_center", "record_mode": "both"}}),
    "global.offline_policy_days",
    "an integer from 1 to 90"
)]
#[case::offline_days_too_many(
    json!({"global": {"offline_policy_days": 91}, "project": {"kind": "contact_center", "record_mode": "both"}}),
    "global.offline_policy_days",
    "an integer from 1 to 90"
)]
#[case::offline_days_on_a_project(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "offline_policy_days": 7}}),
    "project.offline_policy_days",
    "unknown field"
)]
fn the_new_settings_are_validated(#[case] input: Value, #[case] field: &str, #[case] says: &str) {
    let (at, message) = refuse(input);
    assert_eq!(at, field, "{message}");
    assert!(message.contains(says), "{message}");
}

#[test]
fn offline_policy_days_is_read_from_the_global_settings() {
    let file = parse(json!({"global": {"offline_policy_days": 30},
                            "project": {"kind": "contact_center", "record_mode": "both"}}))
    .expect("valid");
    assert_eq!(file.global.offline_policy_days.get(), 30);
    let default = parse(json!({"project": {"kind": "contact_center", "record_mode": "both"}}))
        .expect("valid");
    assert_eq!(default.global.offline_policy_days.get(), 7);
}

#[test]
fn global_defaults_apply_when_left_out() {
    let cc = resolve(json!({"project": {"kind": "contact_center", "record_mode": "global"}}));
    assert_eq!(cc.record_mode, RecordMode::Both);
    assert_eq!(cc.conference_mode, None);
    assert_eq!(cc.holding_months, HoldingMonths::DEFAULT);
    let cs = resolve(json!({"project": {"kind": "customer_service", "record_mode": "global"}}));
    assert_eq!(cs.record_mode, RecordMode::Both);
    assert_eq!(
        cs.conference_mode,
        Some(ConferenceMode::AgentAndCustomerOnly)
    );
    assert!(!cs.start_paused && !cs.agents_can_listen_to_others && !cs.multiple_receipts_per_order);
}

#[test]
fn each_kind_takes_its_own_global_values() {
    let global = json!({"contact_center": {"record_mode": "agent_only_receipts_forbid_customer"},
                        "customer_service": {"record_mode": "none", "conference_mode": "stop_on_third_party"},
                        "holding_months": 24});
    let cc = resolve(json!({"global": global,
        "project": {"kind": "contact_center", "record_mode": "global", "conference_mode": "global"}}));
    assert_eq!(cc.record_mode, RecordMode::AgentOnlyReceiptsForbidCustomer);
    assert_eq!(cc.conference_mode, None);
    assert_eq!(cc.holding_months.get(), 24);
    let cs = resolve(json!({"global": global,
        "project": {"kind": "customer_service", "record_mode": "global", "holding_months": 7}}));
    assert_eq!(cs.record_mode, RecordMode::None);
    assert_eq!(cs.conference_mode, Some(ConferenceMode::StopOnThirdParty));
    assert_eq!(cs.holding_months.get(), 7);
    assert_eq!(cs.kind, ProjectKind::CustomerService);
}

#[test]
fn a_project_value_overrides_global() {
    let p = resolve(
        json!({"global": {"customer_service": {"conference_mode": "none"}},
        "project": {"kind": "customer_service", "record_mode": "agent_only_allow_customer",
                    "conference_mode": "all_participants", "start_paused": true}}),
    );
    assert_eq!(p.record_mode, RecordMode::AgentOnlyAllowCustomer);
    assert_eq!(p.conference_mode, Some(ConferenceMode::AllParticipants));
    assert!(p.start_paused);
}

#[rstest]
#[case::months_1(json!(1), 1)]
#[case::months_120(json!(120), 120)]
fn holding_months_bounds_are_accepted(#[case] months: Value, #[case] expected: u8) {
    let p = resolve(
        json!({"project": {"kind": "contact_center", "record_mode": "both",
                                       "holding_months": months}}),
    );
    assert_eq!(p.holding_months.get(), expected);
    let g = resolve(json!({"global": {"holding_months": months},
                           "project": {"kind": "contact_center", "record_mode": "both"}}));
    assert_eq!(g.holding_months.get(), expected);
}

// Each refused input: the field the error names, and words the message must contain
// (the allowed values where there is a list).
#[rstest]
#[case::cc_mode_none(
    json!({"project": {"kind": "contact_center", "record_mode": "none"}}),
    "project.record_mode", &["\"none\"", "contact_center", "global, both, agent_only_allow_customer, agent_only_forbid_customer, agent_only_receipts_allow_customer, agent_only_receipts_forbid_customer"])]
#[case::cs_receipts_mode(
    json!({"project": {"kind": "customer_service", "record_mode": "agent_only_receipts_allow_customer"}}),
    "project.record_mode", &["global, both, agent_only_allow_customer, agent_only_forbid_customer, none"])]
#[case::unknown_mode(
    json!({"project": {"kind": "contact_center", "record_mode": "record_everything"}}),
    "project.record_mode", &["\"record_everything\"", "valid values: global, both"])]
#[case::mode_not_a_string(
    json!({"project": {"kind": "contact_center", "record_mode": 1}}),
    "project.record_mode", &["expected a string"])]
#[case::missing_mode(
    json!({"project": {"kind": "contact_center"}}),
    "project.record_mode", &["missing", "global, both"])]
#[case::missing_kind(
    json!({"project": {"record_mode": "both"}}),
    "project.kind", &["missing", "contact_center, customer_service"])]
#[case::unknown_kind(
    json!({"project": {"kind": "outbound", "record_mode": "both"}}),
    "project.kind", &["\"outbound\"", "contact_center, customer_service"])]
#[case::cc_conference(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "conference_mode": "all_participants"}}),
    "project.conference_mode", &["contact_center", "global"])]
#[case::cs_unknown_conference(
    json!({"project": {"kind": "customer_service", "record_mode": "both", "conference_mode": "everyone"}}),
    "project.conference_mode", &["global, all_participants, none, agent_and_customer_only, stop_on_third_party"])]
#[case::cs_listen(
    json!({"project": {"kind": "customer_service", "record_mode": "both", "agents_can_listen_to_others": true}}),
    "project.agents_can_listen_to_others", &["customer_service"])]
#[case::cs_multiple_receipts(
    json!({"project": {"kind": "customer_service", "record_mode": "both", "multiple_receipts_per_order": true}}),
    "project.multiple_receipts_per_order", &["customer_service"])]
#[case::months_zero(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "holding_months": 0}}),
    "project.holding_months", &["1 to 120", "got 0"])]
#[case::months_121(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "holding_months": 121}}),
    "project.holding_months", &["1 to 120", "got 121"])]
#[case::months_negative(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "holding_months": -1}}),
    "project.holding_months", &["1 to 120"])]
#[case::months_float(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "holding_months": 3.0}}),
    "project.holding_months", &["1 to 120", "3.0"])]
#[case::months_string(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "holding_months": "3"}}),
    "project.holding_months", &["1 to 120"])]
#[case::global_months_null(
    json!({"global": {"holding_months": null}, "project": {"kind": "contact_center", "record_mode": "both"}}),
    "global.holding_months", &["1 to 120"])]
#[case::global_months_out_of_range(
    json!({"global": {"holding_months": 200}, "project": {"kind": "customer_service", "record_mode": "both"}}),
    "global.holding_months", &["1 to 120"])]
#[case::global_cc_global(
    json!({"global": {"contact_center": {"record_mode": "global"}}, "project": {"kind": "customer_service", "record_mode": "both"}}),
    "global.contact_center.record_mode", &["both, agent_only_allow_customer"])]
#[case::global_cc_none(
    json!({"global": {"contact_center": {"record_mode": "none"}}, "project": {"kind": "customer_service", "record_mode": "both"}}),
    "global.contact_center.record_mode", &["\"none\""])]
#[case::global_cs_conference_global(
    json!({"global": {"customer_service": {"conference_mode": "global"}}, "project": {"kind": "contact_center", "record_mode": "both"}}),
    "global.customer_service.conference_mode", &["all_participants, none, agent_and_customer_only, stop_on_third_party"])]
#[case::bool_as_string(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "start_paused": "yes"}}),
    "project.start_paused", &["true or false"])]
#[case::bool_null(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "start_paused": null}}),
    "project.start_paused", &["true or false"])]
#[case::unknown_project_field(
    json!({"project": {"kind": "contact_center", "record_mode": "both", "recordMode": "both"}}),
    "project.recordMode", &["unknown field", "record_mode"])]
#[case::unknown_global_field(
    json!({"global": {"contact_centre": {}}, "project": {"kind": "contact_center", "record_mode": "both"}}),
    "global.contact_centre", &["unknown field", "contact_center, customer_service, holding_months"])]
#[case::unknown_nested_global_field(
    json!({"global": {"customer_service": {"record": "both"}}, "project": {"kind": "contact_center", "record_mode": "both"}}),
    "global.customer_service.record", &["unknown field"])]
#[case::unknown_top_level(
    json!({"project": {"kind": "contact_center", "record_mode": "both"}, "projects": []}),
    "projects", &["unknown field", "global, project"])]
#[case::missing_project(json!({"global": {}}), "project", &["missing"])]
#[case::project_not_object(json!({"project": []}), "project", &["expected a JSON object"])]
#[case::empty_id(
    json!({"project": {"id": "", "kind": "contact_center", "record_mode": "both"}}),
    "project.id", &["non-empty"])]
fn invalid_settings_name_the_field(
    #[case] input: Value,
    #[case] field: &str,
    #[case] words: &[&str],
) {
    let (got_field, message) = refuse(input);
    assert_eq!(got_field, field, "{message}");
    for w in words {
        assert!(message.contains(w), "{message:?} lacks {w:?}");
    }
}

#[test]
fn non_default_false_values_are_fine_on_customer_service() {
    let p = resolve(
        json!({"project": {"kind": "customer_service", "record_mode": "none",
        "agents_can_listen_to_others": false, "multiple_receipts_per_order": false,
        "conference_mode": "none"}}),
    );
    assert_eq!(
        p.conference_mode,
        Some(ConferenceMode::None),
        "reported even in mode none"
    );
}

#[test]
fn global_fields_are_validated_whatever_the_project_kind() {
    // A customer-service global value is checked on a contact-center project too.
    let (field, _) = refuse(
        json!({"global": {"customer_service": {"record_mode": "agent_only_receipts_allow_customer"}},
                                   "project": {"kind": "contact_center", "record_mode": "both"}}),
    );
    assert_eq!(field, "global.customer_service.record_mode");
}

#[test]
fn bad_json_is_reported_with_its_position() {
    let err = SettingsFile::from_json("{\"project\": {\n  \"kind\": }").expect_err("bad JSON");
    let msg = err.to_string();
    assert!(msg.starts_with("not valid JSON"), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
}
