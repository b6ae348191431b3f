//! The Tag service, through the client's typed calls, against the emulator: what it
//! binds shows in CBS's listings and filters and the other way round, its limits, and
//! each account's tags its own.

use cbs_e2e::*;
use cbs_emulator::{Fault, FaultKind};
use tencentcloud_cbs::model::{Filter, Placement};
use tencentcloud_cbs::tag::{self, Tag, TagFilter};
use tencentcloud_cbs::{Client, Error};

/// The id of a demo snapshot in `region`.
async fn a_snapshot(client: &Client, region: &str) -> String {
    client
        .describe_snapshots()
        .region(region)
        .send()
        .await
        .unwrap()
        .snapshot_set
        .unwrap_or_default()
        .into_iter()
        .find_map(|s| s.snapshot_id)
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn tags_bound_here_show_in_cbs_and_the_other_way_round() {
    let emulator = emulator();
    let client = client(&emulator);
    let snapshot = a_snapshot(&client, "ap-guangzhou").await;
    let name = tag::snapshot_resource("ap-guangzhou", &snapshot);
    let answer = client
        .tag_resources()
        .resources([name.clone()])
        .tags([Tag::new("team", "storage"), Tag::new("环境", "生产")])
        .send()
        .await
        .unwrap();
    assert!(answer.failed_resources.is_empty(), "{answer:?}");
    assert!(!answer.request_id.is_empty());
    // Binding again changes nothing; a new value replaces the old.
    client
        .tag_resources()
        .resources([name.clone()])
        .tags([Tag::new("team", "dr")])
        .send()
        .await
        .unwrap();
    let listed = client
        .describe_snapshots()
        .region("ap-guangzhou")
        .snapshot_ids([snapshot.clone()])
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = listed.snapshot_set.unwrap()[0]
        .tags
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
        .collect();
    assert_eq!(
        tags,
        [("team".into(), "dr".into()), ("环境".into(), "生产".into())]
    );
    // Read back by name, by tag, and with the account in the name.
    let by_name = client
        .get_resources()
        .resources([name.clone()])
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.resources.len(), 1);
    assert_eq!(by_name.resources[0].tags.len(), 2);
    let by_tag = client
        .get_resources()
        .filters([TagFilter::new("team", ["dr"])])
        .send()
        .await
        .unwrap();
    assert_eq!(by_tag.resources.len(), 1);
    // Named with the owner's account, as the service names what it finds.
    let account = emulator.default_account();
    let with_account = format!("qcs::cvm:ap-guangzhou:uin/{account}:snapshot/{snapshot}");
    assert_eq!(by_tag.resources[0].resource, with_account);
    let again = client
        .get_resources()
        .resources([with_account])
        .send()
        .await
        .unwrap();
    assert_eq!(again.resources.len(), 1);
    // Untagged by key.
    client
        .untag_resources()
        .resources([name.clone()])
        .keys(["team"])
        .send()
        .await
        .unwrap();
    let left = client
        .get_resources()
        .resources([name])
        .send()
        .await
        .unwrap();
    assert_eq!(left.resources[0].tags, [Tag::new("环境", "生产")]);

    // A disk made with tags is found through the Tag service, and one tagged there by
    // DescribeDisks' tag filters.
    let made = client
        .create_disks()
        .region("ap-beijing")
        .placement(Placement::new("ap-beijing-3"))
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_type("CLOUD_PREMIUM")
        .disk_size(20)
        .tags([tencentcloud_cbs::model::Tag::new("owner", "alice")])
        .send()
        .await
        .unwrap();
    let disk = made.disk_id_set.unwrap()[0].clone();
    let found = client
        .get_resources()
        .filters([TagFilter::new("owner", ["alice"])])
        .send()
        .await
        .unwrap();
    assert_eq!(
        found.resources[0].resource,
        format!("qcs::cvm:ap-beijing:uin/{account}:volume/{disk}")
    );
    client
        .tag_resources()
        .resources([tag::disk_resource("ap-beijing", &disk)])
        .tags([Tag::new("stage", "restore")])
        .send()
        .await
        .unwrap();
    let filtered = client
        .describe_disks()
        .region("ap-beijing")
        .filters([Filter::new("tag:stage", ["restore"])])
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.total_count, Some(1));
}

#[tokio::test(start_paused = true)]
async fn the_services_limits_are_kept_by_the_client_and_by_the_emulator() {
    let emulator = emulator();
    let client = client(&emulator);
    let snapshot = a_snapshot(&client, "ap-guangzhou").await;
    let name = tag::snapshot_resource("ap-guangzhou", &snapshot);
    // Refused before sending: more than 10 resources or tags, reserved keys, bad text.
    let eleven: Vec<String> = (0..11).map(|_| name.clone()).collect();
    let refused = |e: Error| matches!(e, Error::InvalidInput(_));
    let too_many = client
        .tag_resources()
        .resources(eleven)
        .tags([Tag::new("a", "b")])
        .send();
    assert!(refused(too_many.await.unwrap_err()));
    for bad in [
        Tag::new("qcs:x", "y"),
        Tag::new("k", ""),
        Tag::new("k", "a#b"),
    ] {
        let error = client
            .tag_resources()
            .resources([name.clone()])
            .tags([bad])
            .send()
            .await
            .unwrap_err();
        assert!(refused(error));
    }
    // The emulator holds the line too (a client that does not check).
    let body = serde_json::json!({
        "ResourceList": [name],
        "Tags": (0..11).map(|i| serde_json::json!({"TagKey": format!("k{i}"), "TagValue": "v"})).collect::<Vec<_>>(),
    });
    let error = client
        .call_json("tag", "2018-08-13", "TagResources", None, body)
        .await
        .unwrap_err();
    assert_eq!(
        error.code().unwrap().as_str(),
        "LimitExceeded.TagNumPerRequest"
    );
    // Fifty tags a resource; the fifty-first is refused for that resource alone.
    for batch in 0..5 {
        let tags = (0..10).map(|i| Tag::new(format!("k{batch}-{i}"), "v"));
        let answer = client
            .tag_resources()
            .resources([name.clone()])
            .tags(tags)
            .send()
            .await
            .unwrap();
        assert!(answer.failed_resources.is_empty());
    }
    let other = a_snapshot(&client, "ap-beijing").await;
    let answer = client
        .tag_resources()
        .resources([name.clone(), tag::snapshot_resource("ap-beijing", &other)])
        .tags([Tag::new("one-more", "v")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.failed_resources.len(), 1);
    assert_eq!(
        answer.failed_resources[0].code,
        "LimitExceeded.ResourceAttachedTags"
    );
    assert_eq!(answer.failed_resources[0].resource, name);
    // A resource that does not exist, and a name that is no resource's.
    let answer = client
        .tag_resources()
        .resources([tag::snapshot_resource("ap-guangzhou", "snap-nosuch00")])
        .tags([Tag::new("a", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.failed_resources[0].code,
        "InvalidParameterValue.ResourceIdInvalid"
    );
    let error = client
        .tag_resources()
        .resources(["qcs::cbs:ap-guangzhou:uin/:snapshot/snap-x"])
        .tags([Tag::new("a", "b")])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.code().unwrap().as_str(),
        "InvalidParameterValue.ResourceDescriptionError"
    );
}

#[tokio::test(start_paused = true)]
async fn tag_faults_hit_the_service_action_and_the_resources_region() {
    let emulator = emulator();
    let client = client(&emulator);
    let beijing = tag::snapshot_resource("ap-beijing", &a_snapshot(&client, "ap-beijing").await);
    let shanghai = tag::snapshot_resource("ap-shanghai", &a_snapshot(&client, "ap-shanghai").await);
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "AuthFailure.UnauthorizedOperation".into(),
            message: String::new(),
        })
        .service("tag")
        .action("TagResources")
        .region("ap-beijing"),
    );
    let tag_one = |name: String| {
        client
            .tag_resources()
            .resources([name])
            .tags([Tag::new("a", "b")])
            .send()
    };
    let refused = tag_one(beijing.clone()).await.unwrap_err();
    assert_eq!(
        refused.code().unwrap().as_str(),
        "AuthFailure.UnauthorizedOperation"
    );
    assert!(refused.request_id().is_some());
    assert!(
        tag_one(shanghai).await.is_ok(),
        "another region's resources are fine"
    );
    // A CBS call to ap-beijing is no Tag call.
    assert!(
        client
            .describe_snapshots()
            .region("ap-beijing")
            .send()
            .await
            .is_ok()
    );
    // Throttling is retried like any call's.
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "RequestLimitExceeded".into(),
            message: String::new(),
        })
        .service("tag")
        .times(2),
    );
    assert!(
        client
            .get_resources()
            .resources([beijing])
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn each_account_sees_its_own_tags() {
    let emulator = cbs_e2e::emulator_builder(std::time::Duration::from_secs(1))
        .account_credential(
            "100000000222",
            "AKIDotheraccount00000000000000000000",
            "other-key",
        )
        .start_in_process()
        .unwrap();
    let client = client(&emulator);
    let snapshot = a_snapshot(&client, "ap-guangzhou").await;
    client
        .tag_resources()
        .resources([tag::snapshot_resource("ap-guangzhou", &snapshot)])
        .tags([Tag::new("team", "storage")])
        .send()
        .await
        .unwrap();
    let other = client_builder(&emulator)
        .credentials(tencentcloud_cbs::Credentials::new(
            "AKIDotheraccount00000000000000000000",
            "other-key",
        ))
        .build()
        .unwrap();
    let seen = other
        .get_resources()
        .filters([TagFilter::new("team", Vec::<String>::new())])
        .send()
        .await
        .unwrap();
    assert!(seen.resources.is_empty(), "{seen:?}");
    let mine = client
        .get_resources()
        .filters([TagFilter::new("team", Vec::<String>::new())])
        .send()
        .await
        .unwrap();
    assert_eq!(mine.resources.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn tags_bound_through_the_tag_service_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("cbs-e2e-tag-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let name = {
        let emulator = emulator_builder(std::time::Duration::from_secs(1))
            .state_file(&state)
            .start_in_process()
            .unwrap();
        let client = client(&emulator);
        let snapshot = a_snapshot(&client, "ap-guangzhou").await;
        let name = tag::snapshot_resource("ap-guangzhou", &snapshot);
        client
            .tag_resources()
            .resources([name.clone()])
            .tags([Tag::new("team", "storage")])
            .send()
            .await
            .unwrap();
        name
    };
    // Started again, without demo data: the tag comes from the file.
    let emulator = cbs_emulator::Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .state_file(&state)
        .start_in_process()
        .unwrap();
    let found = client(&emulator)
        .get_resources()
        .resources([name])
        .send()
        .await
        .unwrap();
    assert_eq!(found.resources[0].tags, [Tag::new("team", "storage")]);
    let _ = std::fs::remove_dir_all(dir);
}
