//! Binding to replicas the tags they should carry ([`inventory`](crate::inventory)),
//! through the Tag service, with as few calls as its limits allow: replicas lacking the
//! same tags share calls (a source's replicas in every destination, say), ten resources
//! and ten tags a call at most. Binding a tag twice changes nothing, so a lost answer is
//! simply sent again within the run's patience; a call refused for several regions'
//! resources is tried again one region at a time, so a destination whose Tag calls are
//! refused fails its own replicas alone.

use std::collections::{BTreeMap, BTreeSet};

use tencentcloud_cbs::tag::{self, MAX_RESOURCES_PER_CALL, Tag};
use tokio::task::JoinSet;

use crate::inventory::Book;
use crate::plan::{PlanAction, PlanItem};
use crate::report::{ItemFailure, Outcome, Report, ReportItem};
use crate::run::Run;
use crate::state::{Status, Target};

/// Tags per `TagResources` call at most (the API model: "N取值范围：0~9").
const TAGS_PER_CALL: usize = 10;
/// Tag calls under way at once; the client's rate limit paces them.
const CONCURRENT_CALLS: usize = 16;

/// Tags as `(key, value)`.
type Tags = Vec<(String, String)>;

/// One replica to tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    pub region: String,
    pub replica_id: String,
    /// The tags it lacks.
    pub tags: Vec<(String, String)>,
    /// What it cannot carry, for the report.
    pub problems: Vec<String>,
    /// The plan's line for a replica the run made no report line for (an older one
    /// tagged now).
    pub item: Option<PlanItem>,
}

/// How tagging one replica ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tagged {
    pub replica_id: String,
    pub region: String,
    /// The job's plan line, when it had one.
    pub item: Option<PlanItem>,
    /// `Ok`: every tag bound; the problems of the job, if any, joined.
    pub result: Result<Option<String>, ItemFailure>,
}

/// Tags every job's replica; one outcome per job.
pub(crate) async fn tag_all(run: &Run, jobs: Vec<Job>) -> Vec<Tagged> {
    // Replicas lacking the same tags share calls.
    let mut groups: BTreeMap<Tags, Vec<Job>> = BTreeMap::new();
    for job in jobs {
        groups.entry(job.tags.clone()).or_default().push(job);
    }
    let mut calls: Vec<(Tags, Vec<Job>)> = Vec::new();
    for (tags, jobs) in groups {
        let mut jobs = jobs;
        jobs.sort_by(|a, b| (&a.region, &a.replica_id).cmp(&(&b.region, &b.replica_id)));
        for chunk in jobs.chunks(MAX_RESOURCES_PER_CALL) {
            calls.push((tags.clone(), chunk.to_vec()));
        }
    }
    let mut outcomes = Vec::new();
    let mut running = JoinSet::new();
    let mut queue = calls.into_iter();
    loop {
        while running.len() < CONCURRENT_CALLS {
            let Some((tags, jobs)) = queue.next() else {
                break;
            };
            let run = run.clone();
            running.spawn(async move { tag_resources(&run, &tags, jobs).await });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        outcomes.extend(done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
    }
    outcomes
}

/// Binds `tags` to the replicas of `jobs` (ten at most), ten tags a call; a failure for
/// replicas of several regions is tried again one region at a time.
async fn tag_resources(run: &Run, tags: &[(String, String)], jobs: Vec<Job>) -> Vec<Tagged> {
    let mut regions: Vec<&str> = jobs.iter().map(|j| j.region.as_str()).collect();
    regions.dedup();
    let failure = match bind(run, tags, &jobs).await {
        Ok(failed) => {
            return jobs
                .into_iter()
                .map(|job| {
                    let result = match failed.get(&job.replica_id) {
                        Some(failure) => Err(failure.clone()),
                        None => Ok((!job.problems.is_empty()).then(|| job.problems.join("; "))),
                    };
                    Tagged {
                        replica_id: job.replica_id,
                        region: job.region,
                        item: job.item,
                        result,
                    }
                })
                .collect();
        }
        Err(failure) => failure,
    };
    if regions.len() > 1 {
        let mut by_region: BTreeMap<String, Vec<Job>> = BTreeMap::new();
        for job in jobs {
            by_region.entry(job.region.clone()).or_default().push(job);
        }
        let mut outcomes = Vec::new();
        for (_, jobs) in by_region {
            outcomes.extend(Box::pin(tag_resources(run, tags, jobs)).await);
        }
        return outcomes;
    }
    jobs.into_iter()
        .map(|job| Tagged {
            replica_id: job.replica_id,
            region: job.region,
            item: job.item,
            result: Err(failure.clone()),
        })
        .collect()
}

/// The calls binding `tags` to `jobs`' replicas; the replicas the service could not tag
/// (by id: the service may name them in another form than sent), with why; or why the
/// calls failed.
async fn bind(
    run: &Run,
    tags: &[(String, String)],
    jobs: &[Job],
) -> Result<BTreeMap<String, ItemFailure>, ItemFailure> {
    let resources: Vec<String> = jobs
        .iter()
        .map(|j| tag::snapshot_resource(&j.region, &j.replica_id))
        .collect();
    let mut failed = BTreeMap::new();
    for chunk in tags.chunks(TAGS_PER_CALL) {
        let answer = run
            .client
            .tag_resources()
            .resources(resources.iter().cloned())
            .tags(chunk.iter().map(|(k, v)| Tag::new(k, v)))
            .retry_config(run.patience())
            .send()
            .await
            .map_err(|e| ItemFailure::of_error(&e))?;
        for resource in answer.failed_resources {
            let id = resource
                .resource
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            failed.entry(id).or_insert(ItemFailure {
                code: resource.code,
                message: resource.message,
                request_id: Some(answer.request_id.clone()),
            });
        }
    }
    Ok(failed)
}

/// Tagging alongside the copies: the replicas this run starts copying carry no tags,
/// so they are tagged as soon as their ids are known, in the background (the Tag
/// service's rate limit is its own, so this takes no time from the copies).
#[derive(Debug)]
pub(crate) struct Background {
    book: Book,
    running: JoinSet<Vec<Tagged>>,
    /// The targets whose replicas are queued.
    queued: BTreeSet<usize>,
}

impl Background {
    /// Tagging from what `book` says of the sources.
    pub(crate) fn new(book: Book) -> Self {
        Background {
            book,
            running: JoinSet::new(),
            queued: BTreeSet::new(),
        }
    }

    /// Starts tagging the replicas of the copies this run sent whose ids are known
    /// and that are not queued yet.
    pub(crate) fn queue_new_copies(&mut self, run: &Run, targets: &[Target]) {
        let mut jobs = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            let replica_id = match &target.status {
                Status::Copying { replica_id, .. } | Status::Done { replica_id } => replica_id,
                _ => continue,
            };
            if !target.sent_by_us || self.queued.contains(&index) {
                continue;
            }
            let Some(name) = target.item.replica_name() else {
                continue;
            };
            self.queued.insert(index);
            let Some(desired) = self
                .book
                .desired(&target.item.rule, &target.item.disk_id, &name)
            else {
                continue;
            };
            jobs.push(Job {
                region: target.destination().to_owned(),
                replica_id: replica_id.clone(),
                tags: desired.tags,
                problems: desired.problems,
                item: None,
            });
        }
        if !jobs.is_empty() {
            let run = run.clone();
            self.running.spawn(async move { tag_all(&run, jobs).await });
        }
    }

    /// Waits for every tagging started.
    pub(crate) async fn finish(mut self) -> Vec<Tagged> {
        let mut outcomes = Vec::new();
        while let Some(done) = self.running.join_next().await {
            outcomes.extend(done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
        }
        outcomes
    }
}

/// The jobs of a plan's [`Tag`](PlanAction::Tag) items: kept replicas lacking tags (the
/// older ones, or any a lost answer left untagged).
pub(crate) fn jobs_of_plan(items: &[PlanItem], done: &BTreeSet<&str>) -> Vec<Job> {
    items
        .iter()
        .filter_map(|item| match &item.action {
            PlanAction::Tag {
                replica_id,
                tags,
                problems,
                ..
            } if !done.contains(replica_id.as_str()) => Some(Job {
                region: item.destination.clone().unwrap_or_default(),
                replica_id: replica_id.clone(),
                tags: tags.clone(),
                problems: problems.clone(),
                item: Some(item.clone()),
            }),
            _ => None,
        })
        .collect()
}

/// Puts how tagging went into the report: on a replica's line when it has one (a copy
/// this run made, say), else a line of its own; a failure is a failed line.
pub(crate) fn merge(report: &mut Report, outcomes: Vec<Tagged>) {
    let mut by_replica: BTreeMap<String, Tagged> = outcomes
        .into_iter()
        .map(|t| (t.replica_id.clone(), t))
        .collect();
    let mut failed = Vec::new();
    for item in report.items.iter_mut() {
        let Some(replica) = item.replica_id.as_deref() else {
            continue;
        };
        if item.account.is_some()
            || !matches!(
                item.outcome,
                Outcome::Copied | Outcome::Adopted | Outcome::UpToDate
            )
        {
            continue;
        }
        let Some(tagged) = by_replica.remove(replica) else {
            continue;
        };
        match tagged.result {
            Ok(warning) => {
                item.tagged = true;
                item.warning = warning;
            }
            Err(failure) => failed.push(ReportItem {
                outcome: Outcome::Failed,
                copy_started: false,
                failure: Some(failure),
                ..item.clone()
            }),
        }
    }
    for tagged in by_replica.into_values() {
        let Some(plan_item) = tagged.item else {
            continue;
        };
        let (outcome, warning, failure) = match tagged.result {
            Ok(warning) => (Outcome::Tagged, warning, None),
            Err(failure) => (Outcome::Failed, None, Some(failure)),
        };
        failed.push(ReportItem {
            rule: plan_item.rule,
            disk_id: plan_item.disk_id,
            source_region: plan_item.source_region,
            source_snapshot_id: plan_item.source_snapshot_id,
            destination: plan_item.destination,
            replica_id: Some(tagged.replica_id),
            state: None,
            size_gb: 0,
            outcome,
            copy_started: false,
            account: None,
            tagged: outcome == Outcome::Tagged,
            warning,
            failure,
        });
    }
    report.items.extend(failed);
}
