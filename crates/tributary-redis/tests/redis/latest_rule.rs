//! The cache keeps "latest" by the core's one rule: equal event times with negative values and both
//! zeros, merged in every order, leave the value the core's `DeviceLatest::merge` keeps, to the bit.

use super::*;

#[tokio::test]
async fn the_cache_follows_the_core_rule_for_latest_at_equal_times() {
    let cache = RedisLatestCache::connect(&settings("rule", 0))
        .await
        .expect("connect");
    let orders: [&[f64]; 6] = [
        &[-0.0, 0.0],
        &[0.0, -0.0],
        &[-1.0, -2.0],
        &[-2.0, -1.0],
        &[-0.0, -1.0, 0.0],
        &[0.0, -1.0, -0.0],
    ];
    for (n, order) in orders.iter().enumerate() {
        let dev = format!("rule-{n}");
        let updates: Vec<DeviceLatest> = order.iter().map(|v| latest(&dev, T0, *v)).collect();
        for update in &updates {
            cache
                .merge(std::slice::from_ref(update))
                .await
                .expect("merge");
        }
        let mut expected = updates[0].clone();
        for update in &updates[1..] {
            expected.merge(update);
        }
        let got = cache
            .get(&device(&dev))
            .await
            .expect("get")
            .expect("cached");
        let (got, expected) = (
            got.metrics[&metric("temp")].value,
            expected.metrics[&metric("temp")].value,
        );
        assert_eq!(
            got.to_bits(),
            expected.to_bits(),
            "merged {order:?}: cache kept {got:?}, the core keeps {expected:?}"
        );
    }
}
