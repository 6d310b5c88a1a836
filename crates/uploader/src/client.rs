//! The HTTP client: sign-in, policies, and the error mapping every request shares.

use std::time::Duration;

use callrec_protocol::{ErrorBody, LoginRequest, LoginResponse, PolicyResponse, paths};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, ETAG, IF_NONE_MATCH};

use crate::error::{Result, UploadError};

/// A connection to one central store, signed in or not.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// How the store may be reached: the roots its certificate may chain to, and whether plain
/// HTTP is allowed off loopback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// A private CA (PEM) trusted besides the system's roots (`CALLREC_CA`).
    pub ca: Option<std::path::PathBuf>,
    /// Plain HTTP to any host, not only this machine (`CALLREC_INSECURE_HTTP=1`): for a test
    /// lab; passwords and voices then cross the network in clear.
    pub insecure_http: bool,
}

/// Set by [`allow_insecure_http`].
static INSECURE_HTTP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Allows plain HTTP to any host for the rest of the process (a command's `--insecure-http`),
/// as `CALLREC_INSECURE_HTTP=1` does.
pub fn allow_insecure_http() {
    INSECURE_HTTP.store(true, std::sync::atomic::Ordering::Relaxed);
}

impl Transport {
    /// From the environment: `CALLREC_CA=FILE`, `CALLREC_INSECURE_HTTP=1` (or
    /// [`allow_insecure_http`]).
    pub fn from_env() -> Self {
        Self {
            ca: std::env::var_os("CALLREC_CA")
                .filter(|v| !v.is_empty())
                .map(Into::into),
            insecure_http: INSECURE_HTTP.load(std::sync::atomic::Ordering::Relaxed)
                || std::env::var("CALLREC_INSECURE_HTTP").is_ok_and(|v| v == "1"),
        }
    }
}

/// The store's address as typed by a person, checked: `host:port` means `https://host:port`;
/// `https://` anywhere; `http://` only to this machine (loopback) unless `insecure_http`.
pub fn store_url(typed: &str, insecure_http: bool) -> Result<reqwest::Url> {
    let typed = typed.trim().trim_end_matches('/');
    let refused = |message: String| UploadError::Refused {
        code: "invalid_server".into(),
        message,
    };
    if typed.is_empty() {
        return Err(refused(
            "give the store's address, e.g. https://callrec.example.com".into(),
        ));
    }
    let with_scheme = if typed.contains("://") {
        typed.to_owned()
    } else {
        format!("https://{typed}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| {
        refused(format!(
            "{typed:?} is not an address ({e}); type it like https://callrec.example.com or callrec.example.com:8640"
        ))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback || insecure_http => Ok(url),
        "http" => Err(refused(format!(
            "{typed}: plain http:// would send passwords and recordings across the network unencrypted; use https:// (plain HTTP is only for this machine's own store, or a test lab: --insecure-http or CALLREC_INSECURE_HTTP=1)"
        ))),
        other => Err(refused(format!(
            "{typed}: {other}:// is not how the store is reached; use https://"
        ))),
    }
}

/// The answer to a policy fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyFetch {
    /// The cached version is current.
    NotModified,
    /// A new version.
    Changed(PolicyResponse),
}

impl Client {
    /// A client of the store at `base` (e.g. `https://callrec.example.com`, or
    /// `http://127.0.0.1:8640` on this machine), reached as the environment says
    /// ([`Transport::from_env`]).
    pub fn new(base: &str) -> Result<Self> {
        Self::with_transport(base, &Transport::from_env())
    }

    /// A client of the store at `base` reached as `transport` says.
    pub fn with_transport(base: &str, transport: &Transport) -> Result<Self> {
        let url = store_url(base, transport.insecure_http)?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120));
        if let Some(ca) = &transport.ca {
            let pem = std::fs::read(ca).map_err(UploadError::local(ca))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| UploadError::Refused {
                    code: "invalid_ca".into(),
                    message: format!("CALLREC_CA {}: not PEM certificates ({e})", ca.display()),
                })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| UploadError::Transient(e.to_string()))?;
        Ok(Self {
            http,
            base: url.as_str().trim_end_matches('/').to_owned(),
            token: None,
        })
    }

    /// Whether the link to the store is encrypted (https).
    pub fn encrypted(&self) -> bool {
        self.base.starts_with("https://")
    }

    /// Ends this client's session at the store (its token stops working there).
    pub async fn logout(&self) -> Result<()> {
        let resp = self
            .authed(self.http.post(self.url(paths::LOGOUT)))
            .send()
            .await?;
        ok(resp).await.map(|_| ())
    }

    /// The same client, using a session token.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// The store's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.header(AUTHORIZATION, format!("Bearer {t}")),
            None => req,
        }
    }

    /// Signs in; the response holds the token to use with [`Client::with_token`].
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse> {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
        };
        let resp = self
            .http
            .post(self.url(paths::LOGIN))
            .json(&body)
            .send()
            .await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            return Err(UploadError::Refused {
                code: "invalid_credentials".into(),
                message: "wrong user name or password".into(),
            });
        }
        Ok(ok(resp).await?.json().await?)
    }

    /// A project's policy, or `NotModified` when `cached_version` is current.
    pub async fn policy(&self, project: &str, cached_version: Option<&str>) -> Result<PolicyFetch> {
        let mut req = self.authed(self.http.get(self.url(&paths::policy(project))));
        if let Some(v) = cached_version {
            req = req.header(IF_NONE_MATCH, format!("\"{v}\""));
        }
        let resp = req.send().await?;
        if resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(PolicyFetch::NotModified);
        }
        let resp = ok(resp).await?;
        let etag = resp
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim_matches('"').to_owned());
        let mut body: PolicyResponse = resp.json().await?;
        if let Some(etag) = etag {
            body.version = etag;
        }
        Ok(PolicyFetch::Changed(body))
    }
}

impl Client {
    /// A contact's call history in the signed-in user's projects.
    pub async fn contact_history(
        &self,
        contact: &str,
    ) -> Result<Vec<callrec_protocol::HistoryEntry>> {
        let path = paths::contact_calls(&encode(contact));
        let resp = self.authed(self.http.get(self.url(&path))).send().await?;
        Ok(ok(resp).await?.json().await?)
    }

    /// Recordings the signed-in user may hear, newest first, filtered.
    pub async fn recordings(
        &self,
        query: &callrec_protocol::RecordingQuery,
    ) -> Result<callrec_protocol::RecordingList> {
        let resp = self
            .authed(self.http.get(self.url(paths::RECORDINGS)))
            .query(query)
            .send()
            .await?;
        Ok(ok(resp).await?.json().await?)
    }

    /// Voice receipts the signed-in user may hear, newest call first, filtered.
    pub async fn receipts(
        &self,
        query: &callrec_protocol::ReceiptQuery,
    ) -> Result<callrec_protocol::ReceiptList> {
        let resp = self
            .authed(self.http.get(self.url(paths::RECEIPTS)))
            .query(query)
            .send()
            .await?;
        Ok(ok(resp).await?.json().await?)
    }

    /// A voice receipt's audio (refused, as "not found", where the user may not hear it).
    pub async fn receipt_audio(&self, id: &uuid::Uuid) -> Result<Vec<u8>> {
        let resp = self
            .authed(self.http.get(self.url(&paths::receipt_audio_by_id(id))))
            .send()
            .await?;
        Ok(ok(resp).await?.bytes().await?.to_vec())
    }

    /// A recording's audio (the store refuses, as "not found", what the user may not hear).
    pub async fn recording_audio(&self, id: &uuid::Uuid) -> Result<Vec<u8>> {
        let resp = self
            .authed(self.http.get(self.url(&paths::recording_audio(id))))
            .send()
            .await?;
        Ok(ok(resp).await?.bytes().await?.to_vec())
    }
}

/// Percent-encodes a path segment.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Passes a successful response through; turns any other into a classified error.
pub(crate) async fn ok(resp: reqwest::Response) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body: Option<ErrorBody> = resp.json().await.ok();
    let (code, message) = body.map_or_else(
        || {
            (
                status.as_str().to_owned(),
                status.canonical_reason().unwrap_or("error").to_owned(),
            )
        },
        |b| (b.error.code, b.error.message),
    );
    Err(match status {
        StatusCode::UNAUTHORIZED => UploadError::Unauthorized,
        StatusCode::GONE => UploadError::Expired,
        s if s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT =>
        {
            UploadError::Transient(format!("{code}: {message}"))
        }
        StatusCode::CONFLICT if code == "upload_busy" => UploadError::Transient(message),
        _ => UploadError::Refused { code, message },
    })
}
