//! The connection limit: what the open-file limit leaves after the stores' share, so a flood of
//! connections can never starve SQLite, logs or outgoing connections of file descriptors.

/// Connections served at once when not configured, however many files there are: each holds buffers
/// and a task, so this also bounds their memory.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// Raises the soft open-file limit to the hard one, then returns how many connections to serve:
/// `configured` if set, else [`DEFAULT_MAX_CONNECTIONS`]; either capped by the room the files leave,
/// which is the limit less `reserved` and at most half of it.
pub fn connection_limit(configured: usize, reserved: u64) -> usize {
    let files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-file limit; assuming 1024");
            1024
        }
    };
    let room = files.saturating_sub(reserved).min(files / 2).max(1);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    let limit = match configured {
        0 => DEFAULT_MAX_CONNECTIONS.min(room),
        n if n > room => {
            tracing::warn!(
                configured = n,
                room,
                "overload.max_connections is above what the open-file limit leaves; using {room}"
            );
            room
        }
        n => n,
    };
    tracing::info!(
        files,
        reserved,
        "serving at most {limit} connections at once"
    );
    limit
}
