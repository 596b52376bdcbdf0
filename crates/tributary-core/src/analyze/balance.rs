//! Which change-feed leases an analyze instance should take, as a pure function of what the lease
//! store shows: every instance aims at an equal share, takes free or expired leases first, and steals
//! at most one lease per round from the busiest instance when nothing is free (the change-feed
//! processor's equal-partitions strategy). Holding and renewing is the trigger's job.

use crate::ports::Lease;
use crate::Timestamp;
use std::collections::BTreeMap;

/// A lease to take, and whether that takes it from a live owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    pub range: String,
    pub steal: bool,
}

/// The leases `me` should take now. Instances count as alive while they hold an unexpired lease.
pub fn leases_to_take(leases: &[Lease], me: &str, now: Timestamp) -> Vec<Take> {
    let mut held: BTreeMap<&str, usize> = BTreeMap::new();
    held.insert(me, 0);
    for lease in leases {
        if let Some(owner) = lease.owner.as_deref().filter(|_| lease.expires_at > now) {
            *held.entry(owner).or_default() += 1;
        }
    }
    let target = leases.len().div_ceil(held.len());
    let mine = held[me];
    if mine >= target {
        return Vec::new();
    }
    let free: Vec<Take> = leases
        .iter()
        .filter(|l| l.owner.is_none() || l.expires_at <= now)
        .take(target - mine)
        .map(|l| Take {
            range: l.range.clone(),
            steal: false,
        })
        .collect();
    if !free.is_empty() {
        return free;
    }
    // Nothing free: take one from the instance that holds the most, if it holds more than its share.
    let Some((busiest, count)) = held
        .iter()
        .filter(|(owner, _)| **owner != me)
        .max_by_key(|(owner, count)| (**count, std::cmp::Reverse(**owner)))
    else {
        return Vec::new();
    };
    if *count <= target && !(*count == target && mine + 1 < target) {
        return Vec::new();
    }
    leases
        .iter()
        .find(|l| l.held_by(busiest, now))
        .map(|l| Take {
            range: l.range.clone(),
            steal: true,
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Continuation;

    const NOW: Timestamp = Timestamp::from_millis(1_000_000);

    fn lease(range: &str, owner: Option<&str>, expires_in_ms: i64) -> Lease {
        Lease {
            range: range.to_owned(),
            owner: owner.map(str::to_owned),
            expires_at: NOW.saturating_add_ms(expires_in_ms),
            continuation: Continuation::start(),
            version: "1".to_owned(),
        }
    }

    fn ranges(takes: &[Take]) -> Vec<(&str, bool)> {
        takes.iter().map(|t| (t.range.as_str(), t.steal)).collect()
    }

    #[test]
    fn a_lone_instance_takes_every_free_lease() {
        let leases = [
            lease("0", None, 0),
            lease("1", None, 0),
            lease("2", None, 0),
        ];
        assert_eq!(
            ranges(&leases_to_take(&leases, "a", NOW)),
            [("0", false), ("1", false), ("2", false)]
        );
    }

    #[test]
    fn a_second_instance_steals_until_the_shares_are_equal() {
        let all_a = [
            lease("0", Some("a"), 5_000),
            lease("1", Some("a"), 5_000),
            lease("2", Some("a"), 5_000),
            lease("3", Some("a"), 5_000),
        ];
        assert_eq!(ranges(&leases_to_take(&all_a, "b", NOW)), [("0", true)]);
        let shared = [
            lease("0", Some("b"), 5_000),
            lease("1", Some("b"), 5_000),
            lease("2", Some("a"), 5_000),
            lease("3", Some("a"), 5_000),
        ];
        assert!(leases_to_take(&shared, "b", NOW).is_empty());
        assert!(leases_to_take(&shared, "a", NOW).is_empty());
    }

    #[test]
    fn expired_leases_are_taken_over_without_stealing() {
        let leases = [
            lease("0", Some("dead"), -1),
            lease("1", Some("dead"), -1),
            lease("2", Some("b"), 5_000),
        ];
        assert_eq!(
            ranges(&leases_to_take(&leases, "b", NOW)),
            [("0", false), ("1", false)]
        );
    }

    #[test]
    fn an_odd_lease_is_not_stolen_back_and_forth() {
        let leases = [
            lease("0", Some("a"), 5_000),
            lease("1", Some("a"), 5_000),
            lease("2", Some("b"), 5_000),
        ];
        assert!(leases_to_take(&leases, "b", NOW).is_empty());
        assert!(leases_to_take(&leases, "a", NOW).is_empty());
    }

    #[test]
    fn a_third_instance_gets_a_share() {
        let leases = [
            lease("0", Some("a"), 5_000),
            lease("1", Some("a"), 5_000),
            lease("2", Some("b"), 5_000),
            lease("3", Some("b"), 5_000),
        ];
        assert_eq!(ranges(&leases_to_take(&leases, "c", NOW)), [("0", true)]);
    }
}
