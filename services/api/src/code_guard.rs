//! Pairing and class join codes carry ~40 bits: enough only if guessing is throttled.
//! Wrong codes count per account and per client address; past the limit the caller
//! gets 429 until the window ends (docs/SECURITY.md).

use std::{net::IpAddr, time::Duration};

use nexus_web::{ApiError, error::ApiResult, ratelimit::Limit};

use crate::state::AppState;

/// Wrong codes allowed per account and per address in a window.
pub const WRONG_CODES: Limit = Limit::new(10, Duration::from_secs(15 * 60));

const BUCKET: &str = "code_failures";

fn subjects(user_id: i64, ip: IpAddr) -> [String; 2] {
    [format!("user:{user_id}"), format!("ip:{ip}")]
}

/// 429 when this account or this address has tried too many wrong codes lately.
pub async fn ensure_may_try(state: &AppState, user_id: i64, ip: IpAddr) -> ApiResult<()> {
    for subject in subjects(user_id, ip) {
        state
            .limiter
            .check(BUCKET, &subject, WRONG_CODES)
            .await
            .map_err(ApiError::too_many_requests)?;
    }
    Ok(())
}

/// Counts a wrong code against the account and the address.
pub async fn record_wrong_code(state: &AppState, user_id: i64, ip: IpAddr) {
    for subject in subjects(user_id, ip) {
        let _ = state.limiter.hit(BUCKET, &subject, WRONG_CODES).await;
    }
}
