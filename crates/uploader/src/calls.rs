//! Calls offered to the agent, received as server-sent events.

use callrec_protocol::{CallStatusRequest, CallStatusResponse, LocalCall, Pushed, paths};

use crate::client::{Client, ok};
use crate::error::{Result, UploadError};

impl Client {
    /// Which of `calls` (on this machine, not yet in the store) must be deleted now: erased on
    /// request, or expired under a holding time shortened since they were recorded.
    pub async fn calls_to_delete(&self, calls: Vec<LocalCall>) -> Result<Vec<uuid::Uuid>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let resp = self
            .authed(self.http.post(self.url(paths::CALL_STATUS)))
            .json(&CallStatusRequest { calls })
            .send()
            .await?;
        let answer: CallStatusResponse = ok(resp).await?.json().await?;
        Ok(answer.delete)
    }

    /// Listens for calls offered to the signed-in agent, and facts of its calls, and hands each
    /// to `on_pushed`, until the connection ends (then the caller reconnects, after a delay).
    /// Ends early when `on_pushed` returns `false`.
    pub async fn watch_calls(&self, on_pushed: impl FnMut(Pushed) -> bool) -> Result<()> {
        self.watch_calls_with(|| {}, on_pushed).await
    }

    /// [`Client::watch_calls`], calling `on_open` once the store has accepted the connection
    /// (from then on, what happens arrives as it happens).
    pub async fn watch_calls_with(
        &self,
        on_open: impl FnOnce(),
        mut on_pushed: impl FnMut(Pushed) -> bool,
    ) -> Result<()> {
        let resp = self
            .authed(self.http.get(self.url(paths::CALL_EVENTS)))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .timeout(std::time::Duration::from_secs(24 * 3600))
            .send()
            .await?;
        let mut resp = ok(resp).await?;
        on_open();
        let mut pending = String::new();
        while let Some(chunk) = resp.chunk().await? {
            pending.push_str(&String::from_utf8_lossy(&chunk));
            // Events end with a blank line; keep any partial one for the next chunk.
            while let Some(end) = pending.find("\n\n") {
                let block: String = pending.drain(..end + 2).collect();
                let field = |name: &str| -> String {
                    block
                        .lines()
                        .filter_map(|l| l.strip_prefix(name))
                        .map(str::trim_start)
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let data = field("data:");
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                let invalid = |e: serde_json::Error| UploadError::Refused {
                    code: "invalid_event".into(),
                    message: e.to_string(),
                };
                let pushed = match field("event:").as_str() {
                    "call_event" => Pushed::Fact(serde_json::from_str(&data).map_err(invalid)?),
                    // `call`, and what an older store sent without a name.
                    _ => Pushed::Offer(serde_json::from_str(&data).map_err(invalid)?),
                };
                if !on_pushed(pushed) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}
