//! Binding to replicas the tags they should carry ([`inventory`](crate::inventory)),
//! through the Tag service, with as few calls as its limits allow: replicas lacking the
//! same tags share calls (a source's replicas in every destination, say), ten resources
//! and ten tags a call at most. Binding a tag twice changes nothing, so a lost answer is
//! simply sent again within the run's patience; a call the service refuses for several
//! regions' resources is tried again one region at a time, so a destination whose Tag
//! calls are refused fails its own replicas alone.
//!
//! Two ways in: [`Background`] tags the replicas of the copies a run starts as their
//! ids become known, alongside the copies; [`tag_all`] tags what the final look found
//! lacking (older replicas, on the first run after an upgrade a whole fleet's), a few
//! hundred at a time so that memory does not grow with the fleet.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use tencentcloud_cbs::Error;
use tencentcloud_cbs::tag::{self, MAX_RESOURCES_PER_CALL, Tag};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::inventory::Book;
use crate::observe::{Observation, Replica};
use crate::plan::{PlanAction, PlanItem};
use crate::report::{ItemFailure, Outcome, Report, ReportItem};
use crate::run::Run;
use crate::state::{Status, Target};

/// Tags per `TagResources` call at most (the API model: "N取值范围：0~9").
const TAGS_PER_CALL: usize = 10;
/// Tag calls under way at once; the client's rate limit paces them.
const CONCURRENT_CALLS: usize = 16;
/// Jobs [`tag_all`] takes from its source at a time: enough to keep
/// [`CONCURRENT_CALLS`] busy, few enough that a fleet's backfill stays small.
const JOBS_AT_A_TIME: usize = 256;

/// Tags as `(key, value)`.
type Tags = Vec<(String, String)>;

/// One replica to tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    pub region: String,
    pub replica_id: String,
    /// The tags it lacks (taken by the call that binds them).
    pub tags: Tags,
    /// What it cannot carry, for the report.
    pub problems: Vec<String>,
    /// The plan's line for a replica the run made no report line for (an older one
    /// tagged now); boxed, as most jobs have none.
    pub item: Option<Box<PlanItem>>,
}

/// How tagging one replica ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tagged {
    pub replica_id: String,
    /// The job's plan line, when it had one.
    pub item: Option<Box<PlanItem>>,
    /// `Ok`: every tag bound; the problems of the job, if any, joined.
    pub result: Result<Option<String>, ItemFailure>,
}

/// Tags every job's replica, taking [`JOBS_AT_A_TIME`] from `jobs` at a time; one
/// outcome per job.
pub(crate) async fn tag_all(run: &Run, jobs: impl IntoIterator<Item = Job>) -> Vec<Tagged> {
    let mut jobs = jobs.into_iter().peekable();
    let mut outcomes = Vec::new();
    while jobs.peek().is_some() {
        let (sender, receiver) = mpsc::unbounded_channel();
        for job in jobs.by_ref().take(JOBS_AT_A_TIME) {
            let _ = sender.send(job);
        }
        drop(sender);
        outcomes.extend(tag_stream(run.clone(), receiver).await);
    }
    outcomes
}

/// Tags the replicas of the jobs `incoming` brings, as they come, until it is closed;
/// one outcome per job. Jobs that arrive together and lack the same tags share calls;
/// calls go out in the order their jobs came.
async fn tag_stream(run: Run, mut incoming: mpsc::UnboundedReceiver<Job>) -> Vec<Tagged> {
    let mut calls: VecDeque<(Tags, Vec<Job>)> = VecDeque::new();
    let mut arrived: Vec<Job> = Vec::new();
    let mut outcomes = Vec::new();
    let mut running = JoinSet::new();
    let mut open = true;
    loop {
        while let Ok(job) = incoming.try_recv() {
            arrived.push(job);
        }
        calls.extend(calls_of(std::mem::take(&mut arrived)));
        while running.len() < CONCURRENT_CALLS {
            let Some((tags, jobs)) = calls.pop_front() else {
                break;
            };
            let run = run.clone();
            running.spawn(async move { tag_resources(&run, &tags, jobs).await });
        }
        if !open && running.is_empty() && calls.is_empty() {
            return outcomes;
        }
        tokio::select! {
            job = incoming.recv(), if open => match job {
                Some(job) => arrived.push(job),
                None => open = false,
            },
            Some(done) = running.join_next(), if !running.is_empty() => {
                outcomes.extend(done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
            }
        }
    }
}

/// `jobs` as calls: grouped by the tags they lack, ten resources a call at most.
fn calls_of(jobs: Vec<Job>) -> Vec<(Tags, Vec<Job>)> {
    let mut groups: BTreeMap<Tags, Vec<Job>> = BTreeMap::new();
    for mut job in jobs {
        let tags = std::mem::take(&mut job.tags);
        groups.entry(tags).or_default().push(job);
    }
    let mut calls = Vec::new();
    for (tags, mut jobs) in groups {
        jobs.sort_by(|a, b| (&a.region, &a.replica_id).cmp(&(&b.region, &b.replica_id)));
        while !jobs.is_empty() {
            let rest = jobs.split_off(jobs.len().min(MAX_RESOURCES_PER_CALL));
            calls.push((tags.clone(), std::mem::replace(&mut jobs, rest)));
        }
    }
    calls
}

/// Binds `tags` to the replicas of `jobs` (ten at most), ten tags a call; a refusal for
/// replicas of several regions is tried again one region at a time.
async fn tag_resources(run: &Run, tags: &[(String, String)], jobs: Vec<Job>) -> Vec<Tagged> {
    let error = match bind(run, tags, &jobs).await {
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
                        item: job.item,
                        result,
                    }
                })
                .collect();
        }
        Err(error) => error,
    };
    // Only a refusal can be a region's own: a call that got no answer (or a lost one)
    // would fare no better split, and would spend its tries again per region.
    let spans_regions = jobs.iter().any(|j| j.region != jobs[0].region);
    if spans_regions && matches!(error, Error::Api(_)) {
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
    let failure = ItemFailure::of_error(&error);
    jobs.into_iter()
        .map(|job| Tagged {
            replica_id: job.replica_id,
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
) -> Result<BTreeMap<String, ItemFailure>, Error> {
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
            .await?;
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
/// so they are tagged as soon as their ids are known, by a task of their own (the Tag
/// service's rate limit is its own, so this takes no time from the copies, and the
/// copies' pace bounds what waits).
#[derive(Debug)]
pub(crate) struct Background {
    book: Book,
    sender: mpsc::UnboundedSender<Job>,
    /// The one task tagging; in a set so that it stops when the run is dropped (a
    /// killed run leaves nothing working behind it).
    worker: JoinSet<Vec<Tagged>>,
    /// The targets whose replicas are queued.
    queued: BTreeSet<usize>,
}

impl Background {
    /// Tagging, from what `book` says of the sources, on `run`'s behalf.
    pub(crate) fn new(run: &Run, book: Book) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut worker = JoinSet::new();
        worker.spawn(tag_stream(run.clone(), receiver));
        Background {
            book,
            sender,
            worker,
            queued: BTreeSet::new(),
        }
    }

    /// Queues the replicas of the copies this run sent among `indexes` whose ids are
    /// known and that are not queued yet.
    pub(crate) fn queue(&mut self, targets: &[Target], indexes: impl IntoIterator<Item = usize>) {
        for index in indexes {
            let target = &targets[index];
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
            // The worker ends only once this side is dropped, so this cannot fail.
            let _ = self.sender.send(Job {
                region: target.destination().to_owned(),
                replica_id: replica_id.clone(),
                tags: desired.tags,
                problems: desired.problems,
                item: None,
            });
        }
    }

    /// Waits for every replica queued to be tagged (or to fail).
    pub(crate) async fn finish(self) -> Vec<Tagged> {
        let Background {
            sender, mut worker, ..
        } = self;
        drop(sender);
        match worker.join_next().await {
            Some(done) => done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())),
            None => Vec::new(),
        }
    }
}

/// The jobs of a plan's [`Tag`](PlanAction::Tag) items (kept replicas lacking tags: the
/// older ones, or any a failure left untagged) but those in `done`, with the tags each
/// lacks as `observation` saw it, made as they are taken (each item moved into its
/// job).
pub(crate) fn jobs_of_plan<'a>(
    items: Vec<PlanItem>,
    observation: &'a Observation,
    book: &'a Book,
    done: &'a BTreeSet<&str>,
) -> impl Iterator<Item = Job> + 'a {
    let replicas: HashMap<&str, &Replica> = observation
        .replicas
        .values()
        .flatten()
        .map(|r| (r.id.as_str(), r))
        .collect();
    items.into_iter().filter_map(move |mut item| {
        let PlanAction::Tag {
            replica_id,
            problems,
            ..
        } = &mut item.action
        else {
            return None;
        };
        if done.contains(replica_id.as_str()) {
            return None;
        }
        let replica = replicas.get(replica_id.as_str())?;
        let desired = book.desired(&item.rule, &item.disk_id, &replica.name)?;
        Some(Job {
            region: item.destination.clone().unwrap_or_default(),
            replica_id: replica_id.clone(),
            tags: desired.missing(replica),
            problems: std::mem::take(problems),
            item: Some(Box::new(item)),
        })
    })
}

/// Puts how tagging went into the report: on a replica's line when it has one (a copy
/// this run made, say), else a line of its own; a failure is a failed line.
pub(crate) fn merge(report: &mut Report, mut outcomes: Vec<Tagged>) {
    // Sorted to be found by replica, each taken once (a fleet's worth: no map beside).
    outcomes.sort_by(|a, b| a.replica_id.cmp(&b.replica_id));
    let mut taken = vec![false; outcomes.len()];
    let mut added = Vec::new();
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
        let Ok(at) = outcomes.binary_search_by(|t| t.replica_id.as_str().cmp(replica)) else {
            continue;
        };
        if std::mem::replace(&mut taken[at], true) {
            continue;
        }
        match &outcomes[at].result {
            Ok(warning) => {
                item.tagged = true;
                item.warning.clone_from(warning);
            }
            Err(failure) => added.push(ReportItem {
                outcome: Outcome::Failed,
                copy_started: false,
                failure: Some(failure.clone()),
                ..item.clone()
            }),
        }
    }
    for (tagged, taken) in outcomes.into_iter().zip(taken) {
        let Some(plan_item) = tagged.item.filter(|_| !taken) else {
            continue;
        };
        let plan_item = *plan_item;
        let (outcome, warning, failure) = match tagged.result {
            Ok(warning) => (Outcome::Tagged, warning, None),
            Err(failure) => (Outcome::Failed, None, Some(failure)),
        };
        added.push(ReportItem {
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
    report.items.extend(added);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(region: &str, replica: &str, tags: &[(&str, &str)]) -> Job {
        Job {
            region: region.into(),
            replica_id: replica.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            problems: Vec::new(),
            item: None,
        }
    }

    #[test]
    fn replicas_lacking_the_same_tags_share_calls_of_ten_at_most() {
        let mut jobs: Vec<Job> = (0..25)
            .map(|i| {
                job(
                    "ap-seoul",
                    &format!("snap-{i:02}"),
                    &[("tccbs:rule", "prod")],
                )
            })
            .collect();
        jobs.push(job("ap-tokyo", "snap-t", &[("tccbs:rule", "dev")]));
        let calls = calls_of(jobs);
        let sizes: Vec<(usize, &str)> = calls
            .iter()
            .map(|(tags, jobs)| (jobs.len(), tags[0].1.as_str()))
            .collect();
        assert_eq!(sizes, [(1, "dev"), (10, "prod"), (10, "prod"), (5, "prod")]);
        // Each replica in exactly one call.
        let mut replicas: Vec<&str> = calls
            .iter()
            .flat_map(|(_, jobs)| jobs.iter().map(|j| j.replica_id.as_str()))
            .collect();
        replicas.sort();
        replicas.dedup();
        assert_eq!(replicas.len(), 26);
    }
}
