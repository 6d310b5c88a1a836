//! Passwords (argon2), session tokens (random, stored hashed, expiring) and the [`Caller`]
//! every protected handler takes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use callrec_policy::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::db::User;
use crate::error::{AppError, Result};
use crate::state::AppState;

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

/// Whether `password` matches a stored hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
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

/// The authenticated user making a request.
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
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthorized)?;
        let hash = token_hash(token);
        let user = state
            .run(move |db, _| db.token_user(&hash, OffsetDateTime::now_utc()))
            .await?;
        user.map(Caller).ok_or(AppError::Unauthorized)
    }
}

/// Creates the first admin on an empty store: `admin` with `password`, or a generated
/// password, which is returned so the binary can print it once.
pub fn bootstrap_admin(state: &AppState, password: Option<String>) -> Result<Option<String>> {
    if state.db.user_count()? > 0 {
        return Ok(None);
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
