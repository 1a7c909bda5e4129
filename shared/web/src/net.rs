//! The client's address, believing `X-Forwarded-For` only from trusted proxies.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};

/// Walks `X-Forwarded-For` from the right (the hop nearest to us), skipping trusted
/// proxies; the first untrusted address is the client. A client cannot spoof its address
/// by sending the header itself, since nginx appends the real peer to whatever it got.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            Err(_) => break,
        }
    }
    peer
}

/// The trusted-proxy list, put in the request extensions by the service's router.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub std::sync::Arc<Vec<IpAddr>>);

/// Extractor for the client's address.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
        let trusted = parts
            .extensions
            .get::<TrustedProxies>()
            .cloned()
            .unwrap_or_default();
        Ok(ClientIp(client_ip(peer, &parts.headers, &trusted.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let peer: IpAddr = "203.0.113.9".parse().expect("ip");
        assert_eq!(
            client_ip(
                peer,
                &headers("1.2.3.4"),
                &["127.0.0.1".parse().expect("ip")]
            ),
            peer
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxy: IpAddr = "127.0.0.1".parse().expect("ip");
        let spoofed_then_real = headers("6.6.6.6, 198.51.100.7");
        assert_eq!(
            client_ip(proxy, &spoofed_then_real, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
    }
}
