//! A client's address as kiln keeps and logs it: only the network part, so
//! a stored comment or a log line does not point at one machine. The
//! admission pipeline, the edit link and the admin login all log clients
//! this way.

use std::net::IpAddr;

/// Keeps only the network part of an address: /24 for IPv4, /48 for IPv6.
pub fn anonymize(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_anonymized() {
        assert_eq!(anonymize("203.0.113.77".parse().unwrap()), "203.0.113.0");
        assert_eq!(
            anonymize("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1::"
        );
        assert_eq!(
            anonymize("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0"
        );
    }
}
