//! In-process latest-state cache and live feed. Neither is durable, by design: the cache refills from
//! new readings (and reads fall back to the result store); live updates are for whoever is listening.

mod cache;
mod feed;

pub use cache::MemoryLatestCache;
pub use feed::BroadcastLiveFeed;
