//! Fault rules: which injected failure applies to a request, and how many times.

use std::time::Duration;

use crate::key::BookingKey;
use crate::types::{Endpoint, Fault, FaultTarget, Times};

/// `FaultTarget` with the booking id in text form, so numeric and text booking
/// faults share one rule list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Any,
    Booking(BookingKey),
    Endpoint(Endpoint),
}

impl From<FaultTarget> for Target {
    fn from(t: FaultTarget) -> Self {
        match t {
            FaultTarget::Any => Target::Any,
            FaultTarget::Booking(id) => Target::Booking(id.into()),
            FaultTarget::Endpoint(e) => Target::Endpoint(e),
        }
    }
}

#[derive(Debug)]
struct Rule {
    target: Target,
    fault: Fault,
    /// `None` = sticky.
    left: Option<u32>,
}

/// What the matching rules ask of one request.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub delay: Duration,
    pub terminal: Option<Fault>,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<Rule>,
}

impl Faults {
    /// Replaces every rule for `target` so that `set` reads as "from now on".
    pub(crate) fn set(&mut self, target: Target, fault: Fault, times: Times) {
        self.rules.retain(|r| r.target != target);
        self.add(target, fault, times);
    }

    pub(crate) fn add(&mut self, target: Target, fault: Fault, times: Times) {
        if times.budget() == Some(0) {
            return;
        }
        self.rules.push(Rule {
            target,
            fault,
            left: times.budget(),
        });
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// Rules still armed (sticky ones included).
    pub(crate) fn armed(&self) -> usize {
        self.rules.len()
    }

    /// Whether booking `id` is to be left out of this bookings response; consumes one
    /// use of the matching `Deleted` rule(s).
    pub(crate) fn take_deleted(&mut self, endpoint: Endpoint, id: &BookingKey) -> bool {
        if endpoint != Endpoint::Bookings {
            return false;
        }
        let mut hit = false;
        for r in &mut self.rules {
            if r.fault == Fault::Deleted
                && matches_booking(&r.target, endpoint, std::slice::from_ref(id))
            {
                consume(&mut r.left);
                hit = true;
            }
        }
        self.prune();
        hit
    }

    /// Every matching delay is consumed and summed; of the terminal faults only the
    /// most specific one (booking, then endpoint, then any) fires and is consumed,
    /// so a one-shot global fault is not wasted on a request a booking fault answered.
    pub(crate) fn take(&mut self, endpoint: Endpoint, ids: &[BookingKey]) -> Plan {
        let mut plan = Plan::default();
        let mut best: Option<(u8, usize)> = None;
        for (i, r) in self.rules.iter_mut().enumerate() {
            let Some(rank) = rank(&r.target, endpoint, ids) else {
                continue;
            };
            match &r.fault {
                Fault::Delay(d) => {
                    plan.delay += *d;
                    consume(&mut r.left);
                }
                Fault::Deleted => {}
                _ if best.is_none_or(|(b, _)| rank < b) => best = Some((rank, i)),
                _ => {}
            }
        }
        if let Some((_, i)) = best {
            let r = &mut self.rules[i];
            debug_assert!(r.fault.is_terminal());
            plan.terminal = Some(r.fault.clone());
            consume(&mut r.left);
        }
        self.prune();
        plan
    }

    fn prune(&mut self) {
        self.rules.retain(|r| r.left != Some(0));
    }
}

fn consume(left: &mut Option<u32>) {
    if let Some(n) = left {
        *n = n.saturating_sub(1);
    }
}

fn matches_booking(target: &Target, endpoint: Endpoint, ids: &[BookingKey]) -> bool {
    match target {
        Target::Booking(b) => {
            matches!(endpoint, Endpoint::Bookings | Endpoint::Messages) && ids.contains(b)
        }
        Target::Endpoint(e) => *e == endpoint,
        Target::Any => endpoint.is_data(),
    }
}

/// Lower rank = more specific; `None` = rule does not match.
fn rank(target: &Target, endpoint: Endpoint, ids: &[BookingKey]) -> Option<u8> {
    if !matches_booking(target, endpoint, ids) {
        return None;
    }
    Some(match target {
        Target::Booking(_) => 0,
        Target::Endpoint(_) => 1,
        Target::Any => 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_fault_wins_and_counts_down() {
        let mut f = Faults::default();
        let (seven, eight) = (BookingKey::from(7), BookingKey::from(8));
        f.add(Target::Any, Fault::Status(500), Times::Once);
        f.add(
            FaultTarget::Booking(7).into(),
            Fault::Status(503),
            Times::N(2),
        );
        let p = f.take(Endpoint::Bookings, std::slice::from_ref(&seven));
        assert_eq!(p.terminal, Some(Fault::Status(503)));
        let p = f.take(Endpoint::Bookings, &[eight]);
        assert_eq!(p.terminal, Some(Fault::Status(500)));
        // The same booking named by its text form.
        let p = f.take(Endpoint::Bookings, &["7".into()]);
        assert_eq!(p.terminal, Some(Fault::Status(503)));
        assert!(f.take(Endpoint::Bookings, &[seven]).terminal.is_none());
        assert_eq!(f.armed(), 0);
    }

    #[test]
    fn any_skips_auth_endpoints() {
        let mut f = Faults::default();
        f.add(Target::Any, Fault::Status(500), Times::Always);
        assert!(f.take(Endpoint::Token, &[]).terminal.is_none());
        assert!(f.take(Endpoint::Properties, &[]).terminal.is_some());
    }

    #[test]
    fn text_booking_fault() {
        let mut f = Faults::default();
        f.add(
            Target::Booking("TEST123".into()),
            Fault::Deleted,
            Times::Once,
        );
        assert!(!f.take_deleted(Endpoint::Bookings, &"test123".into()));
        assert!(f.take_deleted(Endpoint::Bookings, &"TEST123".into()));
        assert_eq!(f.armed(), 0);
    }
}
