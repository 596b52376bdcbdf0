//! The result store: the shared `ResultStore` conformance suite, each case on a fresh data directory.

use super::*;

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $case() -> TestResult {
            let dir = tempfile::tempdir().expect("temp dir");
            let storage = open(dir.path()).await?;
            tributary_testkit::result_store::$case(&storage.results).await
        }
    )*};
}

conformance!(
    applies_each_reading_exactly_once,
    late_readings_merge_into_their_old_window,
    devices_and_anomalies_reflect_fresh_readings,
    an_empty_batch_changes_nothing,
    one_batch_spanning_many_devices_and_windows_is_applied_whole,
    any_batching_with_redeliveries_and_republishes_gives_the_core_aggregate,
    concurrent_applies_of_the_same_batch_count_it_once,
    devices_page_through_every_device_exactly_once,
    latest_follows_the_core_rule_in_any_order,
);
