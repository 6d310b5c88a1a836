//! Passwords (argon2), session tokens (random, stored hashed, ending after an idle time and
//! an absolute lifetime) and the callers handlers take: [`Caller`] (a person: agent,
//! supervisor, admin) and [`PlatformCaller`] (the telephony platform).

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use callrec_policy::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::db::User;
use crate::error::{AppError, Result};
use crate::state::AppState;

/// The shortest password a user may have.
pub const MIN_PASSWORD: usize = 8;
/// The shortest password an admin may have.
pub const MIN_ADMIN_PASSWORD: usize = 12;
/// The longest user name (bytes); longer ones are never looked up nor logged whole.
pub const MAX_USERNAME: usize = 64;
/// The longest password accepted (bytes).
pub const MAX_PASSWORD: usize = 1024;

/// Hashes a password for storage.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))
}

thread_local! {
    /// Argon2's working memory (19 MiB with the default parameters), kept by each thread that
    /// checks passwords and reused: allocating and freeing it per check made the allocator
    /// keep freed blocks in every thread's arena, so memory grew with each login and stayed.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches a stored hash (constant-time comparison).
pub fn verify_password(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        argon2::Params::try_from(&parsed),
        argon2::Algorithm::try_from(parsed.algorithm),
    ) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(argon2::Version::default()), argon2::Version::try_from)
    else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    let hashed = BLOCKS.with_borrow_mut(|blocks| {
        blocks.resize(params.block_count(), argon2::Block::default());
        argon
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..])
            .is_ok()
    });
    hashed && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// A hash no password matches, checked for unknown users: a wrong name then costs as much as
/// a wrong password, so names cannot be found by timing.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_secret()).unwrap_or_default())
}

/// Checks `password` against `user`'s hash, or against a dummy hash for an unknown user (the
/// same work either way); the user when it matches.
pub fn check_login(user: Option<User>, password: &str) -> Option<User> {
    match user {
        Some(user) => verify_password(&user.password_hash, password).then_some(user),
        None => {
            let _ = verify_password(dummy_hash(), password);
            None
        }
    }
}

/// Prepares the dummy hash now (it takes one argon2 hash), so the first unknown name's login
/// does not pay for it.
pub fn warm_up() {
    let _ = dummy_hash();
}

/// A fresh random secret: 32 bytes, hex.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What is stored of a token: its SHA-256, so a leaked database holds no usable token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The bearer token of a request, if it sent one.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The user whose valid session sent this request.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<User> {
    let hash = token_hash(bearer(&parts.headers).ok_or(AppError::Unauthorized)?);
    let idle = time::Duration::try_from(state.options.session_idle).unwrap_or(time::Duration::HOUR);
    let user = state
        .run(move |db, _| {
            let now = OffsetDateTime::now_utc();
            db.token_user(&hash, now, now - idle)
        })
        .await?;
    user.ok_or(AppError::Unauthorized)
}

/// A person signed in (agent, supervisor or admin). The telephony platform's account is
/// refused (403): it may only offer calls and report what happens in them.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl Caller {
    /// Fails with 403 unless the caller is an admin.
    pub fn admin(&self, what: &'static str) -> Result<()> {
        if self.0.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::Forbidden(what))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let user = authenticate(parts, state).await?;
        if user.role == Role::Platform {
            return Err(AppError::Forbidden(
                "do this: the telephony platform's account only offers calls and reports their events",
            ));
        }
        Ok(Self(user))
    }
}

/// The telephony platform (its `platform` account, or an admin) offering calls and reporting
/// what happens in them.
#[derive(Debug, Clone)]
pub struct PlatformCaller(pub User);

impl FromRequestParts<AppState> for PlatformCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let user = authenticate(parts, state).await?;
        if !matches!(user.role, Role::Platform | Role::Admin) {
            return Err(AppError::Forbidden(
                "offer calls (the telephony platform's account does)",
            ));
        }
        Ok(Self(user))
    }
}

/// The address a request came from, where the server knows it (the listener sets it; a
/// handler test without a socket has none).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Checks a new password for a user of `role`: long enough, not too long.
pub fn check_password(role: Role, password: &str) -> std::result::Result<(), String> {
    let least = if role == Role::Admin {
        MIN_ADMIN_PASSWORD
    } else {
        MIN_PASSWORD
    };
    if password.chars().count() < least {
        return Err(format!(
            "at least {least} characters{}",
            if role == Role::Admin {
                " for an admin"
            } else {
                ""
            }
        ));
    }
    if password.len() > MAX_PASSWORD {
        return Err(format!("at most {MAX_PASSWORD} bytes"));
    }
    Ok(())
}

/// Creates the first admin on an empty store: `admin` with `password` (at least
/// [`MIN_ADMIN_PASSWORD`] characters), or a generated password, which is returned so the
/// binary can print it once.
pub fn bootstrap_admin(state: &AppState, password: Option<String>) -> Result<Option<String>> {
    if state.db.user_count()? > 0 {
        return Ok(None);
    }
    if let Some(p) = &password {
        check_password(Role::Admin, p).map_err(|why| {
            AppError::invalid(
                "invalid_password",
                format!("the first admin's password (CALLREC_ADMIN_PASSWORD): {why}"),
            )
        })?;
    }
    let generated = password.is_none();
    let password = password.unwrap_or_else(|| random_secret()[..20].to_owned());
    let user = User {
        id: "admin".into(),
        username: "admin".into(),
        password_hash: hash_password(&password)?,
        role: Role::Admin,
        projects: Vec::new(),
    };
    state.db.insert_user(&user)?;
    Ok(generated.then_some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_own_hash_only() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horsE"));
        assert!(!verify_password(&hash, ""));
        assert!(!verify_password("not a hash", "correct horse"));
        // A hash made with other parameters (a lighter one, as an older store may hold).
        let params = argon2::Params::new(4096, 2, 1, None).expect("params");
        let salt = SaltString::encode_b64(b"sixteen byte salt").expect("salt");
        let light = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(b"light", &salt)
            .expect("hash")
            .to_string();
        assert!(verify_password(&light, "light"));
        assert!(!verify_password(&light, "heavy"));
    }
}
