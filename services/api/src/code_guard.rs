//! Pairing and class join codes carry ~40 bits: enough only if guessing is throttled.
//! Wrong codes count per account (10 / 15 min) and per client address (60 / 15 min); past
//! either limit the caller gets 429 until the window ends (docs/SECURITY.md).

use std::{net::IpAddr, time::Duration};

use nexus_web::{ApiError, error::ApiResult, ratelimit::Limit};

use crate::state::AppState;

/// Wrong codes allowed per account in a window.
pub const WRONG_CODES_PER_ACCOUNT: Limit = Limit::new(10, Duration::from_secs(15 * 60));
/// Wrong codes allowed per address in a window: a whole class joins from behind one
/// school address, some mistyping, so this is higher; one address still needs years to
/// find one code among 2^40.
pub const WRONG_CODES_PER_ADDRESS: Limit = Limit::new(60, Duration::from_secs(15 * 60));

const BUCKET: &str = "code_failures";

fn subjects(user_id: i64, ip: IpAddr) -> [(String, Limit); 2] {
    [
        (format!("user:{user_id}"), WRONG_CODES_PER_ACCOUNT),
        (format!("ip:{ip}"), WRONG_CODES_PER_ADDRESS),
    ]
}

/// 429 when this account or this address has tried too many wrong codes lately.
pub async fn ensure_may_try(state: &AppState, user_id: i64, ip: IpAddr) -> ApiResult<()> {
    for (subject, limit) in subjects(user_id, ip) {
        state
            .limiter
            .check(BUCKET, &subject, limit)
            .await
            .map_err(ApiError::too_many_requests)?;
    }
    Ok(())
}

/// Counts a wrong code against the account and the address.
pub async fn record_wrong_code(state: &AppState, user_id: i64, ip: IpAddr) {
    for (subject, limit) in subjects(user_id, ip) {
        let _ = state.limiter.hit(BUCKET, &subject, limit).await;
    }
}
