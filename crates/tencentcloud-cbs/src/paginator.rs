//! Paging through `Describe*` results.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use cbs_model::{Action, Paginated};
use futures_core::Stream;

use crate::{CallOptions, Client, Error};

/// Pages of a paginated action, fetched one at a time.
///
/// Each page asks for the `Offset` after the items seen so far (the first keeps the
/// request's own offset and `Limit`). Paging stops when `TotalCount` is reached, a page
/// is empty or shorter than the `Limit` asked for, a page adds no item not seen before
/// (by id: `SnapshotId`, `DiskId`, …), or more pages came than `TotalCount` allows, so a
/// service that ignores `Offset` cannot make it loop forever.
///
/// ```no_run
/// # async fn run(client: tencentcloud_cbs::Client) -> Result<(), tencentcloud_cbs::Error> {
/// let mut pages = client.describe_snapshots().limit(100).into_paginator();
/// while let Some(page) = pages.next_page().await {
///     for snapshot in page?.snapshot_set() {
///         println!("{:?}", snapshot.snapshot_id);
///     }
/// }
/// // Or every item at once:
/// let all = client.describe_snapshots().into_paginator().collect_items().await?;
/// # let _ = all;
/// # Ok(())
/// # }
/// ```
pub struct Paginator<A: Paginated> {
    client: Client,
    request: Result<A, Option<Error>>,
    options: CallOptions,
    offset: u64,
    /// Ids of the items returned so far.
    seen: HashSet<String>,
    /// The previous page, for items without an id.
    last_page: Option<Vec<A::Item>>,
    /// The most pages `TotalCount` allows, once the first page told it.
    max_pages: Option<u64>,
    pages: u64,
    done: bool,
}

impl<A: Paginated> fmt::Debug for Paginator<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("action", &A::NAME)
            .field("offset", &self.offset)
            .field("pages", &self.pages)
            .field("done", &self.done)
            .finish()
    }
}

impl<A: Paginated> Paginator<A> {
    /// Pages of `request` (or the error building it produced).
    pub fn new(client: Client, request: Result<A, Error>, options: CallOptions) -> Self {
        let offset = request.as_ref().ok().and_then(|r| r.offset()).unwrap_or(0);
        Paginator {
            client,
            request: request.map_err(Some),
            options,
            offset,
            seen: HashSet::new(),
            last_page: None,
            max_pages: None,
            pages: 0,
            done: false,
        }
    }

    /// The next page, or `None` when there are no more. An error ends the paging.
    pub async fn next_page(&mut self) -> Option<Result<A::Output, Error>> {
        if self.done {
            return None;
        }
        let request = match &mut self.request {
            Ok(request) => {
                request.set_offset(self.offset);
                request.clone()
            }
            Err(error) => {
                self.done = true;
                return error.take().map(Err);
            }
        };
        let output = match self.client.send_with(request, self.options.clone()).await {
            Ok(output) => output,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        self.pages = self.pages.saturating_add(1);
        let items = A::items(&output);
        if items.is_empty() {
            self.done = true;
            // The first page is returned even when empty, so the caller sees `TotalCount`.
            return (self.pages == 1).then_some(Ok(output));
        }
        let mut new = 0;
        for item in items {
            match A::item_id(item) {
                Some(id) => new += usize::from(self.seen.insert(id.to_owned())),
                None => new += usize::from(self.last_page.as_deref() != Some(items)),
            }
        }
        if new == 0 {
            tracing::warn!(
                action = A::NAME,
                offset = self.offset,
                "a page brought nothing new; stopping"
            );
            self.done = true;
            return None;
        }
        // Offsets and totals come from the network (or a caller): saturate, never wrap.
        self.offset = self.offset.saturating_add(items.len() as u64);
        let total = A::total_count(&output);
        if self.pages == 1 {
            // A page this long, at most this many times, covers the total (plus one for
            // items added while paging).
            let per_page = items.len() as u64;
            self.max_pages = total.map(|total| total.div_ceil(per_page).saturating_add(1));
        }
        let limit = self.request.as_ref().ok().and_then(Paginated::limit);
        let short = limit.is_some_and(|limit| (items.len() as u64) < limit);
        if total.is_some_and(|total| self.offset >= total)
            || self.max_pages.is_some_and(|max| self.pages >= max)
            || (total.is_none() && short)
        {
            self.done = true;
        }
        if A::item_id(&items[0]).is_none() {
            self.last_page = Some(items.to_vec());
        }
        Some(Ok(output))
    }

    /// Every item of every page, in order.
    pub async fn collect_items(mut self) -> Result<Vec<A::Item>, Error> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await {
            all.extend_from_slice(A::items(&page?));
        }
        Ok(all)
    }

    /// The items one by one, as a [`Stream`].
    pub fn items(self) -> Items<A> {
        Items {
            state: ItemsState::Idle(Box::new(self)),
            buffer: VecDeque::new(),
        }
    }
}

type PageFuture<A> = Pin<
    Box<
        dyn Future<
                Output = (
                    Box<Paginator<A>>,
                    Option<Result<<A as Action>::Output, Error>>,
                ),
            > + Send,
    >,
>;

enum ItemsState<A: Paginated> {
    Idle(Box<Paginator<A>>),
    Fetching(PageFuture<A>),
    Finished,
}

/// The items of a [`Paginator`], as a [`Stream`] of `Result<Item, Error>`; an error ends
/// the stream.
pub struct Items<A: Paginated> {
    state: ItemsState<A>,
    buffer: VecDeque<A::Item>,
}

impl<A: Paginated> fmt::Debug for Items<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items")
            .field("action", &A::NAME)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<A: Paginated> Items<A> {
    /// The next item, without a `Stream` combinator library.
    pub async fn next_item(&mut self) -> Option<Result<A::Item, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<A: Paginated> Unpin for Items<A> {}

impl<A: Paginated> Stream for Items<A> {
    type Item = Result<A::Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            match std::mem::replace(&mut self.state, ItemsState::Finished) {
                ItemsState::Finished => return Poll::Ready(None),
                ItemsState::Idle(mut paginator) => {
                    self.state = ItemsState::Fetching(Box::pin(async move {
                        let page = paginator.next_page().await;
                        (paginator, page)
                    }));
                }
                ItemsState::Fetching(mut future) => match future.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.state = ItemsState::Fetching(future);
                        return Poll::Pending;
                    }
                    Poll::Ready((_, None)) => return Poll::Ready(None),
                    Poll::Ready((_, Some(Err(e)))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready((paginator, Some(Ok(page)))) => {
                        self.buffer.extend(A::items(&page).iter().cloned());
                        self.state = ItemsState::Idle(paginator);
                    }
                },
            }
        }
    }
}
