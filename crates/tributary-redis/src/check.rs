//! What `tributary check-config` asks of Redis: can we connect and authenticate, and may we write
//! under our key prefix (a probe key, set with a short expiry and deleted at once).

use crate::{error, RedisConnection, RedisSettings};
use std::sync::Arc;
use tributary_core::auth::TokenSource;
use tributary_core::PortError;

/// Connects, pings, then sets and deletes `<prefix>:check:<pid>`; returns the server's PING answer.
pub async fn check_access(
    settings: &RedisSettings,
    token: Option<Arc<dyn TokenSource>>,
) -> Result<String, PortError> {
    let connection = RedisConnection::connect(settings, token).await?;
    let mut manager = connection.manager();
    let pong: String = redis::cmd("PING")
        .query_async(&mut manager)
        .await
        .map_err(error)?;
    let key = format!("{}:check:{}", settings.prefix, std::process::id());
    redis::cmd("SET")
        .arg(&key)
        .arg("ok")
        .arg("EX")
        .arg(10)
        .exec_async(&mut manager)
        .await
        .map_err(error)?;
    redis::cmd("DEL")
        .arg(&key)
        .exec_async(&mut manager)
        .await
        .map_err(error)?;
    Ok(pong)
}
