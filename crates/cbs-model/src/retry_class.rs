//! What an error code says about sending a request again.

/// How safe it is to send a request again after the service answered with a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryClass {
    /// Rejected by rate limiting before anything ran: retry any action after backing off.
    Throttled,
    /// The signature's timestamp was outside the allowed window: re-sign with a corrected
    /// clock and retry any action.
    Clock,
    /// Trouble on the service's side; the action may or may not have run: retry only
    /// read-only actions.
    Transient,
    /// Retrying the same request cannot help.
    Client,
}
