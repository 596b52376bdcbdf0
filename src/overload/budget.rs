//! The ingest body budget: bytes of request bodies in flight, counted as they arrive and as they
//! inflate. A request reserves before it holds more memory and releases everything when dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A shared budget of bytes. Cloning shares it.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    capacity: usize,
    in_flight: AtomicUsize,
}

/// Bytes one request holds; released on drop.
#[derive(Debug)]
pub struct Reservation {
    inner: Arc<Inner>,
    held: usize,
}

/// The budget cannot take this many more bytes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl BodyBudget {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                capacity,
                in_flight: AtomicUsize::new(0),
            }),
        }
    }

    /// An empty reservation to grow as the body arrives.
    pub fn reserve(&self) -> Reservation {
        Reservation {
            inner: self.inner.clone(),
            held: 0,
        }
    }

    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }
}

impl Reservation {
    /// Takes `more` bytes, unless that would pass the capacity while other requests hold some (a
    /// request alone is always let through, so one body larger than the budget still gets in).
    pub fn grow(&mut self, more: usize) -> Result<(), Exhausted> {
        let counter = &self.inner.in_flight;
        let mut current = counter.load(Ordering::Relaxed);
        loop {
            let next = current.saturating_add(more);
            let alone = current == self.held;
            if next > self.inner.capacity && !alone {
                return Err(Exhausted);
            }
            match counter.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.held += more;
                    return Ok(());
                }
                Err(seen) => current = seen,
            }
        }
    }

    /// Grows to at least `total` bytes held.
    pub fn grow_to(&mut self, total: usize) -> Result<(), Exhausted> {
        match total.checked_sub(self.held) {
            Some(more) if more > 0 => self.grow(more),
            _ => Ok(()),
        }
    }

    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.inner.in_flight.fetch_sub(self.held, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_capacity_and_release_on_drop() {
        let budget = BodyBudget::new(100);
        let mut a = budget.reserve();
        let mut b = budget.reserve();
        assert_eq!(a.grow(60), Ok(()));
        assert_eq!(b.grow(40), Ok(()));
        assert_eq!(b.grow(1), Err(Exhausted), "full while another holds bytes");
        assert_eq!(budget.in_flight(), 100);
        drop(a);
        assert_eq!(budget.in_flight(), 40);
        assert_eq!(b.grow_to(100), Ok(()));
        drop(b);
        assert_eq!(budget.in_flight(), 0);
    }

    #[test]
    fn a_request_alone_may_pass_the_capacity() {
        let budget = BodyBudget::new(10);
        let mut alone = budget.reserve();
        assert_eq!(alone.grow(25), Ok(()));
        assert_eq!(alone.grow(25), Ok(()));
        let mut second = budget.reserve();
        assert_eq!(second.grow(1), Err(Exhausted));
        assert_eq!(second.held(), 0);
        drop(alone);
        assert_eq!(second.grow(10), Ok(()));
    }
}
