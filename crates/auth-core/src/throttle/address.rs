//! Client addresses as budget keys, and waits as `Retry-After` seconds.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// The key of a client address's budget: an IPv4 address as it is, an IPv6
/// address by its /64 network. One host is routinely given a whole /64
/// (SLAAC, RFC 6177), so keying by /128 would give it 2^64 budgets; an
/// IPv4-mapped address (`::ffff:a.b.c.d`) is the IPv4 address.
///
/// ```
/// use auth_core::address_budget_key;
/// let ip = |text: &str| text.parse().unwrap();
/// assert_eq!(address_budget_key(ip("203.0.113.5")), "203.0.113.5");
/// assert_eq!(address_budget_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
/// assert_eq!(
///     address_budget_key(ip("2001:db8:1:2:bbbb::9")),
///     address_budget_key(ip("2001:db8:1:2:aaaa::1"))
/// );
/// assert_eq!(address_budget_key(ip("::ffff:203.0.113.5")), "203.0.113.5");
/// ```
pub fn address_budget_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !u128::from(u64::MAX);
            format!("{}/64", Ipv6Addr::from(network))
        }
    }
}

/// Whole seconds for a `Retry-After` header: rounded up, at least 1.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(auth_core::retry_after_secs(Duration::from_millis(1500)), 2);
/// assert_eq!(auth_core::retry_after_secs(Duration::from_millis(1)), 1);
/// ```
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::from_millis(3001)), 4);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
