//! One group of a restore, as one loop: its disks created (each once, with its
//! `ClientToken`), polled a hundred a call until usable, and each instance's disks
//! attached to its standby as soon as all of them are usable, while the rest of the
//! group is still being made. The polls that wait for disks to load also confirm the
//! attachments, so attaching costs the `AttachDisks` calls alone.
//!
//! A creation whose answer was lost is settled, once the others are done, by looking
//! the run's disks up by its tag; an attachment whose answer was lost by the next poll.

use std::collections::{BTreeMap, BTreeSet};

use tencentcloud_cbs::model::DiskState;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::attach::{self, UNATTACHED_LOOKS};
use super::choose::Spec;
use super::create::{Made, create, run_disks, usable};
use super::{CONCURRENT_CREATES, RestoreItem, RestoreOutcome};
use crate::disks::IDS_PER_CALL;
use crate::report::ItemFailure;
use crate::run::{ReplicationEvent, Run};

/// Where one standby's disks stand.
#[derive(Debug)]
enum Standby {
    /// Not all its disks are usable yet.
    Waiting,
    /// `AttachDisks` sent: how many polls since saw one of its disks still unattached,
    /// and the call's error if it failed (the polls settle whether it ran).
    Sent {
        unattached_looks: usize,
        error: Option<ItemFailure>,
    },
    /// Every disk on it, or failed: nothing more to do.
    Settled,
}

/// One group's run: what is being made, watched and attached.
pub(super) struct Group<'a> {
    run: &'a Run,
    region: &'a str,
    run_name: &'a str,
    started: Instant,
    specs: &'a [Option<Spec>],
    /// Disk id → item, for the disks still polled (loading, or waiting to show
    /// attached).
    tracked: BTreeMap<String, usize>,
    /// Standby → its items in their source order, and where they stand.
    standbys: BTreeMap<String, (Vec<usize>, Standby)>,
}

impl<'a> Group<'a> {
    /// A group of the run `run_name` (begun at `started`) in `region`, making what
    /// `specs` say (by item; `None` for items not to make).
    pub(super) fn new(
        run: &'a Run,
        region: &'a str,
        run_name: &'a str,
        started: Instant,
        specs: &'a [Option<Spec>],
    ) -> Self {
        Group {
            run,
            region,
            run_name,
            started,
            specs,
            tracked: BTreeMap::new(),
            standbys: BTreeMap::new(),
        }
    }

    /// Restores the items `members` whose specs are set (the others failed or need an
    /// image), attaching each instance's disks to its standby.
    pub(super) async fn restore(
        mut self,
        members: &[usize],
        made: &mut BTreeMap<String, Made>,
        items: &mut [RestoreItem],
    ) {
        let mut queue = Vec::new();
        for &index in members {
            if let Some(standby) = items[index].standby.clone() {
                let entry = self
                    .standbys
                    .entry(standby)
                    .or_insert_with(|| (Vec::new(), Standby::Waiting));
                entry.0.push(index);
            }
            let Some(spec) = &self.specs[index] else {
                continue;
            };
            match made.get(&spec.replica_id) {
                Some(earlier) => self.adopt(items, index, earlier),
                None => queue.push(index),
            }
        }
        for (members, _) in self.standbys.values_mut() {
            members.sort_by_key(|&i| (items[i].order.unwrap_or(usize::MAX), i));
        }
        self.run_loop(queue, made, items).await;
    }
}

impl Group<'_> {
    /// Takes a disk the run made earlier (or whose creation's answer was lost) as the
    /// item's, watching it until usable and attached.
    fn adopt(&mut self, items: &mut [RestoreItem], index: usize, disk: &Made) {
        let item = &mut items[index];
        item.outcome = RestoreOutcome::Adopted;
        item.failure = None;
        item.restored_disk_id = Some(disk.disk_id.clone());
        item.attached = disk.instance.is_some() && disk.instance == item.standby;
        if disk.usable {
            item.time_to_usable = Some(self.started.elapsed());
        }
        if !disk.usable || (item.standby.is_some() && !item.attached) {
            self.tracked.insert(disk.disk_id.clone(), index);
        } else if item.attached {
            item.time_to_attached = Some(self.started.elapsed());
        }
    }

    async fn run_loop(
        &mut self,
        queue: Vec<usize>,
        made: &mut BTreeMap<String, Made>,
        items: &mut [RestoreItem],
    ) {
        let mut queue = queue.into_iter();
        let mut creating = JoinSet::new();
        let mut in_flight: BTreeSet<usize> = BTreeSet::new();
        let mut attaching = JoinSet::new();
        let mut doubtful: Vec<usize> = Vec::new();
        let (mut interval, poll_max) = self.run.poll;
        let mut next_poll = Instant::now() + interval;
        loop {
            while creating.len() < CONCURRENT_CREATES {
                let Some(index) = queue.next() else {
                    break;
                };
                let spec = self.specs[index].clone().expect("queued with a spec");
                let (run, region) = (self.run.clone(), self.region.to_owned());
                let token = format!("tccbs-{}-{}", self.run_name, spec.replica_id);
                in_flight.insert(index);
                creating.spawn(async move { (index, create(&run, &region, &spec, &token).await) });
            }
            if creating.is_empty() && !doubtful.is_empty() {
                self.settle_doubts(std::mem::take(&mut doubtful), made, items)
                    .await;
            }
            self.attach_ready(&mut attaching, items);
            if creating.is_empty() && attaching.is_empty() && self.tracked.is_empty() {
                break;
            }
            if self.run.is_over() {
                let late = queue.chain(in_flight.iter().copied()).collect::<Vec<_>>();
                self.give_up(&late, items);
                break;
            }
            tokio::select! {
                Some(done) = creating.join_next(), if !creating.is_empty() => {
                    let (index, result) = done.expect("creation tasks do not panic");
                    in_flight.remove(&index);
                    self.created(index, result, made, &mut doubtful, items);
                }
                Some(done) = attaching.join_next(), if !attaching.is_empty() => {
                    let (standby, result): (String, Result<(), ItemFailure>) =
                        done.expect("attach tasks do not panic");
                    if let (Err(failure), Some((_, Standby::Sent { error, .. }))) =
                        (result, self.standbys.get_mut(&standby))
                    {
                        *error = Some(failure);
                    }
                }
                () = tokio::time::sleep_until(next_poll.min(Instant::now() + self.run.left())),
                    if !self.tracked.is_empty() =>
                {
                    self.poll(items).await;
                    interval = (interval * 3 / 2).min(poll_max);
                    next_poll = Instant::now() + interval;
                }
            }
        }
    }

    /// What a `CreateDisks` answer means for its item.
    fn created(
        &mut self,
        index: usize,
        result: Result<Option<String>, tencentcloud_cbs::Error>,
        made: &mut BTreeMap<String, Made>,
        doubtful: &mut Vec<usize>,
        items: &mut [RestoreItem],
    ) {
        let replica = self.specs[index]
            .as_ref()
            .expect("queued")
            .replica_id
            .clone();
        let item = &mut items[index];
        match result {
            Ok(Some(disk_id)) => {
                item.outcome = RestoreOutcome::Created;
                item.time_to_created = Some(self.started.elapsed());
                item.restored_disk_id = Some(disk_id.clone());
                self.tracked.insert(disk_id.clone(), index);
                made.insert(
                    replica,
                    Made {
                        disk_id,
                        usable: false,
                        instance: None,
                    },
                );
            }
            Ok(None) => {
                item.outcome = RestoreOutcome::Failed;
                item.failure = Some(ItemFailure::new(
                    "NoDiskId",
                    "CreateDisks answered without a disk id",
                ));
            }
            Err(error) => {
                if error.may_have_executed() {
                    doubtful.push(index);
                }
                item.outcome = RestoreOutcome::Failed;
                item.failure = Some(ItemFailure::of_error(&error));
            }
        }
    }

    /// Lost answers: what the region holds now says whether those creations ran.
    async fn settle_doubts(
        &mut self,
        doubtful: Vec<usize>,
        made: &mut BTreeMap<String, Made>,
        items: &mut [RestoreItem],
    ) {
        let Ok(found) = run_disks(self.run, self.region, self.run_name).await else {
            return;
        };
        for index in doubtful {
            let replica = &self.specs[index].as_ref().expect("queued").replica_id;
            if let Some(disk) = found.get(replica) {
                made.insert(replica.clone(), disk.clone());
                self.adopt(items, index, disk);
            }
        }
    }

    /// Sends `AttachDisks` for every standby whose disks are all usable now, and fails
    /// the items of a standby some of whose disks failed (the rest would take their
    /// places in the order).
    fn attach_ready(
        &mut self,
        attaching: &mut JoinSet<(String, Result<(), ItemFailure>)>,
        items: &mut [RestoreItem],
    ) {
        for (standby, (members, state)) in &mut self.standbys {
            if !matches!(state, Standby::Waiting) {
                continue;
            }
            let failed = |i: &usize| items[*i].outcome == RestoreOutcome::Failed;
            let ready = |i: &usize| failed(i) || items[*i].time_to_usable.is_some();
            if !members.iter().all(ready) {
                continue;
            }
            if members.iter().any(failed) {
                let missing: Vec<&str> = members
                    .iter()
                    .filter(|i| failed(i))
                    .map(|i| items[*i].disk_id.as_str())
                    .collect();
                let failure = ItemFailure::new(
                    "InstanceIncomplete",
                    format!(
                        "not attached to {standby}: {} of its source instance not restored",
                        missing.join(", ")
                    ),
                );
                fail(&mut self.tracked, members, items, &failure);
                *state = Standby::Settled;
                continue;
            }
            let mut disks: Vec<String> = Vec::new();
            for &index in members.iter().filter(|i| !items[**i].attached) {
                if let Some(disk) = &items[index].restored_disk_id {
                    self.tracked.insert(disk.clone(), index);
                    disks.push(disk.clone());
                }
            }
            if disks.is_empty() {
                *state = Standby::Settled;
                continue;
            }
            let (run, region, standby) =
                (self.run.clone(), self.region.to_owned(), standby.clone());
            attaching.spawn(async move {
                let result = attach::send(&run, &region, &standby, &disks).await;
                (standby, result)
            });
            *state = Standby::Sent {
                unattached_looks: 0,
                error: None,
            };
        }
    }

    /// One round: the tracked disks, a hundred a call; what each shows (usable,
    /// attached, gone) is recorded, and each standby whose call was taken is settled
    /// when its disks show attached, or failed when they will not.
    async fn poll(&mut self, items: &mut [RestoreItem]) {
        let ids: Vec<String> = self.tracked.keys().cloned().collect();
        let mut unattached: BTreeSet<String> = BTreeSet::new();
        let mut elsewhere: BTreeMap<String, String> = BTreeMap::new();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let Ok(page) = crate::disks::by_ids(self.run, self.region, chunk).await else {
                // The next round asks again.
                continue;
            };
            let listed: BTreeMap<String, tencentcloud_cbs::model::Disk> = page
                .into_iter()
                .filter_map(|d| Some((d.disk_id.clone()?, d)))
                .collect();
            for id in chunk {
                let index = self.tracked[id];
                let item = &mut items[index];
                let Some(disk) = listed.get(id) else {
                    self.tracked.remove(id);
                    item.outcome = RestoreOutcome::Failed;
                    item.failure = Some(ItemFailure::new(
                        "InvalidDiskId.NotFound",
                        format!("{id} is gone (deleted by someone else?)"),
                    ));
                    continue;
                };
                if item.time_to_usable.is_none() && usable(disk) {
                    item.time_to_usable = Some(self.started.elapsed());
                }
                // An unattached disk's InstanceId is empty, not absent.
                let on = disk.instance_id.as_deref().filter(|i| !i.is_empty());
                match (&item.standby, on) {
                    (None, _) => {
                        if item.time_to_usable.is_some() {
                            self.tracked.remove(id);
                        }
                    }
                    (Some(standby), Some(on))
                        if on == standby && disk.disk_state == Some(DiskState::Attached) =>
                    {
                        item.attached = true;
                        item.time_to_attached = Some(self.started.elapsed());
                        self.tracked.remove(id);
                    }
                    (Some(standby), Some(on)) if on != standby => {
                        elsewhere.insert(standby.clone(), format!("{id} is attached to {on}"));
                    }
                    (Some(standby), _) => {
                        let waiting =
                            matches!(self.standbys.get(standby), Some((_, Standby::Waiting)));
                        if waiting && item.time_to_usable.is_some() {
                            // Watched again once its standby's call is sent.
                            self.tracked.remove(id);
                        } else if disk.disk_state == Some(DiskState::Unattached) {
                            unattached.insert(standby.clone());
                        }
                    }
                }
            }
        }
        for (standby, (members, state)) in &mut self.standbys {
            if let Some(why) = elsewhere.get(standby) {
                let failure = ItemFailure::new(
                    "ResourceUnavailable.Attached",
                    format!("{why}, not to the standby {standby}"),
                );
                fail(&mut self.tracked, members, items, &failure);
                *state = Standby::Settled;
                continue;
            }
            let Standby::Sent {
                unattached_looks,
                error,
            } = state
            else {
                continue;
            };
            if members.iter().all(|i| items[*i].attached) {
                *state = Standby::Settled;
                continue;
            }
            if unattached.contains(standby) {
                *unattached_looks += 1;
            }
            // The call failed and the disks show it did not run, or it was taken and
            // they stay unattached.
            let failure = match error {
                Some(failure) if unattached.contains(standby) => Some(failure.clone()),
                None if *unattached_looks > UNATTACHED_LOOKS => Some(ItemFailure::new(
                    "AttachFailed",
                    format!("the disks are not attached to {standby} although the call was taken"),
                )),
                _ => None,
            };
            if let Some(failure) = failure {
                fail(&mut self.tracked, members, items, &failure);
                *state = Standby::Settled;
            }
        }
        if self.run.is_heard() {
            self.run.emit(ReplicationEvent::RestoreProgress {
                usable: items.iter().filter(|i| i.time_to_usable.is_some()).count(),
                waiting: self.tracked.len(),
                total: items.len(),
            });
        }
    }

    /// The deadline came: what is not usable, not attached or not even made fails.
    fn give_up(&mut self, not_made: &[usize], items: &mut [RestoreItem]) {
        for &index in not_made {
            items[index].outcome = RestoreOutcome::Failed;
            items[index].failure = Some(ItemFailure::new(
                "Timeout",
                "not made by the run's deadline",
            ));
        }
        for (_, index) in std::mem::take(&mut self.tracked) {
            let item = &mut items[index];
            item.outcome = RestoreOutcome::Failed;
            item.failure = Some(ItemFailure::new(
                "Timeout",
                if item.time_to_usable.is_none() {
                    "the restored disk was not usable by the run's deadline"
                } else {
                    "the restored disk was not attached by the run's deadline"
                },
            ));
        }
    }
}

/// Fails the items of one standby that have not failed yet, and stops watching them.
fn fail(
    tracked: &mut BTreeMap<String, usize>,
    members: &[usize],
    items: &mut [RestoreItem],
    failure: &ItemFailure,
) {
    for &index in members {
        let item = &mut items[index];
        if let Some(disk) = &item.restored_disk_id {
            tracked.remove(disk);
        }
        if item.outcome != RestoreOutcome::Failed {
            item.outcome = RestoreOutcome::Failed;
            item.failure = Some(failure.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;
    use crate::policy::Rule;
    use crate::testing::{self, Call};

    /// What one disk of the scripted region is: attached to which instance.
    type Region = Arc<Mutex<BTreeMap<String, Option<String>>>>;

    /// A region that makes disks (`disk-<replica>`, usable at once, except the
    /// replicas in `refused`), lists them, and attaches them.
    fn region(refused: &'static [&'static str]) -> (tencentcloud_cbs::Client, testing::Calls) {
        let disks: Region = Arc::default();
        testing::client(move |call: &Call| {
            let mut disks = disks.lock().unwrap();
            match call.action.as_str() {
                "CreateDisks" => {
                    let replica = call.body["SnapshotId"].as_str().unwrap();
                    if refused.contains(&replica) {
                        return testing::error("ResourceInsufficient");
                    }
                    let id = format!("disk-{replica}");
                    disks.entry(id.clone()).or_insert(None);
                    Ok(json!({ "DiskIdSet": [id] }))
                }
                "DescribeDisks" => {
                    let set: Vec<_> = call.body["DiskIds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|id| {
                            let id = id.as_str().unwrap();
                            let on = disks.get(id)?;
                            Some(json!({
                                "DiskId": id,
                                "DiskState": if on.is_some() { "ATTACHED" } else { "UNATTACHED" },
                                "InstanceId": on.clone().unwrap_or_default(),
                                "Rollbacking": false,
                            }))
                        })
                        .collect();
                    Ok(json!({ "TotalCount": set.len(), "DiskSet": set }))
                }
                "AttachDisks" => {
                    let instance = call.body["InstanceId"].as_str().unwrap();
                    for id in call.body["DiskIds"].as_array().unwrap() {
                        disks.insert(id.as_str().unwrap().to_owned(), Some(instance.into()));
                    }
                    Ok(json!({}))
                }
                other => panic!("unexpected {other}"),
            }
        })
    }

    /// Items for `disks` (replica, standby, order), with their specs.
    fn plan(disks: &[(&str, Option<&str>, usize)]) -> (Vec<RestoreItem>, Vec<Option<Spec>>) {
        let rule = Rule::new("prod", "ap-guangzhou", ["ap-beijing"]);
        disks
            .iter()
            .map(|(replica, standby, order)| {
                let mut item = super::super::failed_item(
                    &rule,
                    &format!("src-{replica}"),
                    ItemFailure::new("", ""),
                );
                item.failure = None;
                item.outcome = RestoreOutcome::WouldCreate;
                item.replica_id = Some((*replica).to_owned());
                item.standby = standby.map(str::to_owned);
                item.order = Some(*order);
                let spec = Spec {
                    replica_id: (*replica).to_owned(),
                    name: format!("src-{replica}"),
                    disk_type: "CLOUD_SSD".into(),
                    size_gb: 50,
                    zone: "ap-beijing-1".into(),
                    tags: Vec::new(),
                };
                (item, Some(spec))
            })
            .unzip()
    }

    async fn restore(
        client: &tencentcloud_cbs::Client,
        items: &mut [RestoreItem],
        specs: &[Option<Spec>],
    ) {
        let run = testing::run(client);
        let members: Vec<usize> = (0..items.len()).collect();
        Group::new(&run, "ap-beijing", "t", Instant::now(), specs)
            .restore(&members, &mut BTreeMap::new(), items)
            .await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_is_attached_in_its_order_and_confirmed_by_the_polls() {
        let (client, calls) = region(&[]);
        let (mut items, specs) = plan(&[
            ("snap-b", Some("ins-a"), 1),
            ("snap-a", Some("ins-a"), 0),
            ("snap-c", None, 0),
        ]);
        restore(&client, &mut items, &specs).await;
        assert!(
            items.iter().all(|i| i.outcome == RestoreOutcome::Created),
            "{items:#?}"
        );
        assert!(items[0].attached && items[1].attached && !items[2].attached);
        assert!(items.iter().all(|i| i.time_to_usable.is_some()));
        let calls = calls.lock().unwrap();
        let attaches: Vec<&Call> = calls.iter().filter(|c| c.action == "AttachDisks").collect();
        assert_eq!(attaches.len(), 1);
        assert_eq!(
            attaches[0].body["DiskIds"],
            json!(["disk-snap-a", "disk-snap-b"]),
            "the source order"
        );
        // No look of its own before or after attaching: the polls tell.
        let polls = calls.iter().filter(|c| c.action == "DescribeDisks").count();
        assert!(polls <= 3, "{polls} polls");
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_missing_a_disk_gets_none_attached() {
        let (client, calls) = region(&["snap-a"]);
        let (mut items, specs) =
            plan(&[("snap-a", Some("ins-a"), 0), ("snap-b", Some("ins-a"), 1)]);
        restore(&client, &mut items, &specs).await;
        let codes: Vec<&str> = items
            .iter()
            .map(|i| i.failure.as_ref().map_or("", |f| f.code.as_str()))
            .collect();
        assert_eq!(codes, ["ResourceInsufficient", "InstanceIncomplete"]);
        // The disk made is still the run's (its clean-up removes it), not attached.
        assert_eq!(items[1].restored_disk_id.as_deref(), Some("disk-snap-b"));
        assert!(
            !calls
                .lock()
                .unwrap()
                .iter()
                .any(|c| c.action == "AttachDisks")
        );
    }
}
