//! The generated model through its public API: coverage, the vendor's examples, the seed
//! request byte for byte, and responses generated at random from the schema.

#[allow(dead_code)]
#[path = "../examples/support/conformance.rs"]
mod conformance;

use cbs_model::{
    ACTIONS, Action, ActionVisitor, Availability, CopySnapshotCrossRegionsRequest,
    CopySnapshotCrossRegionsResponse, DescribeSnapshotsRequest, ErrorCode, Filter, MemberType,
    ObjectSchema, Safety, SnapshotState, object_schema, parse_response, visit_action,
};
use proptest::prelude::*;
use serde_json::{Value, json};

#[test]
fn every_action_object_and_code_is_generated() {
    assert_eq!(ACTIONS.len(), 61);
    let objects: Vec<&str> = ACTIONS
        .iter()
        .flat_map(|a| [format!("{}Request", a.name), format!("{}Response", a.name)])
        .map(|n| {
            object_schema(&n)
                .map(|o| o.name)
                .expect("request and response objects exist")
        })
        .collect();
    assert_eq!(objects.len(), 122);
    for name in [
        "Snapshot",
        "Disk",
        "Placement",
        "Tag",
        "Filter",
        "SnapshotCopyResult",
        "Price",
    ] {
        assert!(object_schema(name).is_some(), "{name}");
    }
    struct Name;
    impl ActionVisitor for Name {
        type Output = &'static str;
        fn visit<A: Action>(self) -> &'static str {
            A::NAME
        }
    }
    for info in ACTIONS {
        assert_eq!(visit_action(info.name, Name), Some(info.name));
        let reads = ["Describe", "Inquir", "Get"]
            .iter()
            .any(|p| info.name.starts_with(p));
        let expected = match (reads, info.name) {
            (true, _) => Safety::ReadOnly,
            (false, "CreateDisks") => Safety::Idempotent,
            _ => Safety::Mutating,
        };
        assert_eq!(info.safety, expected, "{}", info.name);
    }
    // 44 actions on both sites, 17 on the China site only.
    let china_only: Vec<&str> = ACTIONS
        .iter()
        .filter(|a| a.availability == Availability::ChinaOnly)
        .map(|a| a.name)
        .collect();
    assert_eq!(china_only.len(), 17);
    assert!(china_only.contains(&"CopyAutoSnapshotPolicyCrossAccount"));
    assert_eq!(
        ACTIONS
            .iter()
            .filter(|a| a.availability == Availability::Both)
            .count(),
        44
    );
    // 38 platform-wide codes and the CBS codes of both sites (81 in all), 10 of them in
    // both lists.
    assert_eq!(ErrorCode::KNOWN.len(), 109);
}

#[test]
fn the_china_site_members_are_carried() {
    let snapshot = object_schema("Snapshot").unwrap();
    for member in [
        "SnapshotMode",
        "IsLocked",
        "AutoSnapshotPolicyId",
        "LatestModifyTime",
    ] {
        assert!(snapshot.member(member).is_some(), "{member}");
    }
    let request = cbs_model::CreateSnapshotRequest::builder()
        .disk_id("disk-1")
        .local_snap(true)
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"DiskId": "disk-1", "LocalSnap": true})
    );
}

#[test]
fn all_vendor_examples_of_both_sites_pass() {
    for (text, count) in [
        (include_str!("data/examples-international.json"), 50),
        (include_str!("data/examples-china.json"), 70),
    ] {
        let file: conformance::ExampleFile = serde_json::from_str(text).expect("examples parse");
        let (failures, passed, failed) = conformance::check_file(&file);
        assert!(failures.is_empty(), "{failures:#?}");
        assert_eq!((passed, failed), (count, 0));
    }
}

/// The objects of one vendored model, by name: member name to (type, is a list).
fn vendor_objects(site: &str) -> std::collections::BTreeMap<String, Vec<(String, String, bool)>> {
    let path = format!(
        "{}/../../model/cbs-2017-03-12.{site}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let model: Value = serde_json::from_slice(&std::fs::read(&path).expect("the vendored model"))
        .expect("the vendored model is JSON");
    model["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let members = o["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["name"].as_str().unwrap().to_owned(),
                        m["member"].as_str().unwrap().to_owned(),
                        m["type"] == "list",
                    )
                })
                .collect();
            (o["name"].as_str().unwrap().to_owned(), members)
        })
        .collect()
}

/// Every member of `original` the vendor model declares for `object`, non-null, must be in
/// `back` with the same value (numbers compared by value); returns the first one lost.
fn first_lost(
    objects: &std::collections::BTreeMap<String, Vec<(String, String, bool)>>,
    object: &str,
    original: &Value,
    back: &Value,
    path: &str,
) -> Option<String> {
    let (Value::Object(original), Some(members)) = (original, objects.get(object)) else {
        return None;
    };
    for (name, ty, list) in members {
        let Some(value) = original.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        let here = format!("{path}.{name}");
        let Some(kept) = back.get(name) else {
            return Some(here);
        };
        let pairs: Vec<(&Value, &Value)> = match (list, value, kept) {
            (true, Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
                a.iter().zip(b.iter()).collect()
            }
            (true, _, _) => return Some(here),
            (false, _, _) => vec![(value, kept)],
        };
        for (a, b) in pairs {
            if objects.contains_key(ty) {
                if let Some(lost) = first_lost(objects, ty, a, b, &here) {
                    return Some(lost);
                }
            } else {
                let same = match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => x == y,
                    _ => a == b,
                };
                if !same {
                    return Some(format!("{here}: {a} became {b}"));
                }
            }
        }
    }
    None
}

struct KeepsEveryMember<'a> {
    objects: &'a std::collections::BTreeMap<String, Vec<(String, String, bool)>>,
    response: &'a str,
}

impl ActionVisitor for KeepsEveryMember<'_> {
    type Output = Result<(), String>;
    fn visit<A: Action>(self) -> Result<(), String> {
        let output = parse_response::<A::Output>(self.response.as_bytes())
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let back = serde_json::to_value(&output).unwrap();
        let original: Value = serde_json::from_str(self.response).unwrap();
        match first_lost(
            self.objects,
            &format!("{}Response", A::NAME),
            &original["Response"],
            &back,
            A::NAME,
        ) {
            Some(lost) => Err(format!("lost {lost}")),
            None => Ok(()),
        }
    }
}

#[test]
fn no_member_the_vendor_models_declare_is_lost() {
    let mut checked = 0;
    for (site, text) in [
        (
            "international",
            include_str!("data/examples-international.json"),
        ),
        ("china", include_str!("data/examples-china.json")),
    ] {
        let objects = vendor_objects(site);
        let file: Value = serde_json::from_str(text).unwrap();
        for (action, examples) in file["actions"].as_object().unwrap() {
            for (i, example) in examples.as_array().unwrap().iter().enumerate() {
                let visitor = KeepsEveryMember {
                    objects: &objects,
                    response: example["output"].as_str().unwrap(),
                };
                let result = visit_action(action, visitor).expect("a known action");
                assert!(
                    result.is_ok(),
                    "{site} {action} #{i}: {}",
                    result.unwrap_err()
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 120);
}

#[test]
fn seed_request_serializes_byte_for_byte() {
    let request = CopySnapshotCrossRegionsRequest::new(["ap-beijing"], "snap-ckgjwkqh");
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"DestinationRegions":["ap-beijing"],"SnapshotId":"snap-ckgjwkqh"}"#
    );
    let named = CopySnapshotCrossRegionsRequest::builder()
        .snapshot_id("snap-ckgjwkqh")
        .destination_regions(["ap-beijing"])
        .snapshot_name("dr copy")
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_string(&named).unwrap(),
        r#"{"DestinationRegions":["ap-beijing"],"SnapshotId":"snap-ckgjwkqh","SnapshotName":"dr copy"}"#
    );
}

#[test]
fn seed_response_parses_with_its_region_result() {
    let body = br#"{"Response":{"SnapshotCopyResultSet":[{"SnapshotId":"snap-d012rm6t","DestinationRegion":"ap-beijing","Code":"Success","Message":""}],"RequestId":"98f0b5f0-7d84-4d11-9819-ee7804e524a4"}}"#;
    let out: CopySnapshotCrossRegionsResponse = parse_response(body).unwrap().unwrap();
    assert_eq!(out.request_id, "98f0b5f0-7d84-4d11-9819-ee7804e524a4");
    let result = &out.snapshot_copy_result_set()[0];
    assert_eq!(result.snapshot_id.as_deref(), Some("snap-d012rm6t"));
    assert_eq!(result.destination_region.as_deref(), Some("ap-beijing"));
    assert_eq!(result.code.as_deref(), Some("Success"));
}

#[test]
fn empty_lists_are_sent_and_none_is_left_out() {
    let request = DescribeSnapshotsRequest::builder()
        .snapshot_ids(Vec::<String>::new())
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"SnapshotIds":[]}"#
    );
    assert_eq!(
        serde_json::to_string(&DescribeSnapshotsRequest::new()).unwrap(),
        "{}"
    );
    let filtered = DescribeSnapshotsRequest::builder()
        .filters([Filter::new("snapshot-state", ["NORMAL"])])
        .limit(20)
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&filtered).unwrap(),
        json!({"Filters": [{"Name": "snapshot-state", "Values": ["NORMAL"]}], "Limit": 20})
    );
}

#[test]
fn builders_name_the_missing_member_and_forward_options() {
    let err = CopySnapshotCrossRegionsRequest::builder()
        .destination_regions(["ap-beijing"])
        .build()
        .unwrap_err();
    assert_eq!(err.member(), "SnapshotId");
    assert_eq!(err.reason(), "is required but was not set");
    let maybe_name: Option<String> = None;
    let request = CopySnapshotCrossRegionsRequest::builder()
        .snapshot_id("snap-1")
        .destination_regions(["ap-beijing"])
        .snapshot_name("first")
        .set_snapshot_name(maybe_name)
        .build()
        .unwrap();
    assert_eq!(request.snapshot_name, None);
    let builder = DescribeSnapshotsRequest::builder().limit(7);
    assert_eq!(builder.get_limit(), Some(&7));
}

#[test]
fn validation_names_the_empty_member() {
    let request = CopySnapshotCrossRegionsRequest::new(Vec::<String>::new(), "snap-1");
    let err = request.validate().unwrap_err();
    assert_eq!(err.member(), "DestinationRegions");
    let request = CopySnapshotCrossRegionsRequest::new(["ap-beijing"], "");
    assert_eq!(request.validate().unwrap_err().member(), "SnapshotId");
    assert_eq!(
        CopySnapshotCrossRegionsRequest::REQUIRED,
        ["DestinationRegions", "SnapshotId"]
    );
}

#[test]
fn open_enums_keep_unknown_values() {
    let known: SnapshotState = serde_json::from_str(r#""COPYING_FROM_REMOTE""#).unwrap();
    assert_eq!(known, SnapshotState::CopyingFromRemote);
    let new: SnapshotState = serde_json::from_str(r#""FROZEN""#).unwrap();
    assert_eq!(new.as_str(), "FROZEN");
    assert!(matches!(new, SnapshotState::Unknown(_)));
    assert_eq!(serde_json::to_string(&new).unwrap(), r#""FROZEN""#);
    for state in SnapshotState::KNOWN {
        assert_eq!(&SnapshotState::from(state.as_str()), state);
    }
}

#[test]
fn debug_and_fields_keep_wire_names_like_cpu() {
    // Every field renames explicitly: check a few awkward names survive a round trip.
    let schema = object_schema("DiskConfig").unwrap();
    assert!(schema.member("DiskUsage").is_some());
    let body = json!({"Response": {"DiskConfigSet": [{"Available": true, "DiskType": "CLOUD_SSD", "MaxDiskSize": 32000, "Zone": "ap-guangzhou-3", "DiskUsage": "DATA_DISK", "DeviceClass": "S5.LARGE8", "InstanceFamily": "S5", "Price": null}], "RequestId": "r"}});
    let out: cbs_model::DescribeDiskConfigQuotaResponse =
        parse_response(body.to_string().as_bytes())
            .unwrap()
            .unwrap();
    let config = &out.disk_config_set()[0];
    assert_eq!(config.disk_type, Some(cbs_model::DiskType::CloudSsd));
    assert_eq!(config.max_disk_size, Some(32000));
}

/// A small deterministic generator, so a proptest seed picks a whole random response.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "snap-", "disk-", "NORMAL", "云", "😀", "\"", "\\", " ", "a", "Z", "0", "\n",
        ];
        (0..self.below(6))
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }
}

fn scalar(rng: &mut Rng, ty: MemberType, depth: u32) -> Value {
    match ty {
        MemberType::String => Value::String(rng.text()),
        MemberType::U64 => json!(rng.next() >> rng.below(64)),
        MemberType::I64 => json!((rng.next() as i64) >> rng.below(63)),
        MemberType::F64 => json!((rng.next() % 1_000_000) as f64 / 8.0),
        MemberType::Bool => json!(rng.below(2) == 0),
        MemberType::Object(name) => object(rng, object_schema(name).unwrap(), depth + 1),
        _ => Value::Null,
    }
}

/// A response object: each member absent, null or a value of its type; plus members the
/// model does not know.
fn object(rng: &mut Rng, schema: &ObjectSchema, depth: u32) -> Value {
    let mut map = serde_json::Map::new();
    for member in schema.members {
        match rng.below(4) {
            0 => {}
            1 => {
                map.insert(member.name.to_owned(), Value::Null);
            }
            _ if depth > 3 => {}
            _ => {
                let value = if member.list {
                    Value::Array(
                        (0..rng.below(3))
                            .map(|_| scalar(rng, member.ty, depth))
                            .collect(),
                    )
                } else {
                    scalar(rng, member.ty, depth)
                };
                map.insert(member.name.to_owned(), value);
            }
        }
    }
    for i in 0..rng.below(3) {
        map.insert(
            format!("FutureMember{i}"),
            json!({"nested": [1, "x", null]}),
        );
    }
    Value::Object(map)
}

struct ParseGenerated<'a>(&'a mut Rng);

impl ActionVisitor for ParseGenerated<'_> {
    type Output = Result<(), String>;
    fn visit<A: Action>(self) -> Result<(), String> {
        let schema = object_schema(&format!("{}Response", A::NAME)).unwrap();
        let response = object(self.0, schema, 0);
        let body = json!({"Response": response}).to_string();
        let output = parse_response::<A::Output>(body.as_bytes())
            .map_err(|e| format!("{}: {e}", A::NAME))?
            .map_err(|e| format!("{}: {e}", A::NAME))?;
        let mut back = serde_json::to_value(&output).unwrap();
        // A missing or null RequestId reads as the empty string.
        if back["RequestId"] == "" && response["RequestId"].is_null() {
            back.as_object_mut().unwrap().remove("RequestId");
        }
        if conformance::normalize(&response, schema) != conformance::normalize(&back, schema) {
            return Err(format!("{}: lost data: {response} became {back}", A::NAME));
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_responses_parse_without_loss(seed in 1u64..u64::MAX) {
        let mut rng = Rng(seed);
        for info in ACTIONS {
            let result = visit_action(info.name, ParseGenerated(&mut rng)).unwrap();
            prop_assert!(result.is_ok(), "{}", result.unwrap_err());
        }
    }

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_response::<CopySnapshotCrossRegionsResponse>(&body);
        let _ = parse_response::<cbs_model::DescribeDisksResponse>(&body);
    }

    #[test]
    fn json_shaped_garbage_never_panics(inner in "[{}\\[\\]\",:0-9a-zA-Z ]{0,80}") {
        let body = format!(r#"{{"Response":{inner}"#);
        let _ = parse_response::<cbs_model::DescribeSnapshotsResponse>(body.as_bytes());
        let body = format!(r#"{{"Response":{{"Error":{inner}}}}}"#);
        let _ = parse_response::<cbs_model::DescribeSnapshotsResponse>(body.as_bytes());
    }
}
