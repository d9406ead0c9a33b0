//! The lab's two sites: A, the address the lab was opened on, and B, the
//! site it exercises.

use crate::config::Origin;

/// Why the lab has no site B for a given A.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPeer {
    /// A is not on this machine and `--lab-peer-origin` is unset: the other
    /// loopback name would point at the user's own machine, not at this
    /// server.
    NotLoopback,
    /// A is `--lab-peer-origin` itself: open the lab on the other name.
    ThisIsThePeer(Origin),
}

impl NoPeer {
    /// What the lab page says.
    pub fn explain(&self) -> String {
        match self {
            NoPeer::NotLoopback => "This server is not on your own machine, and it was started without \
                 --lab-peer-origin, so the lab has no second site to use: its usual one, the other loopback \
                 name (localhost or 127.0.0.1), would be your own computer, not this server. Run cookie-lab \
                 locally, or start it with --lab-peer-origin naming another host name of this server."
                .to_owned(),
            NoPeer::ThisIsThePeer(origin) => format!(
                "This address ({origin}) is the lab's site B (--lab-peer-origin). Open the lab on this \
                 server's other address: that one exercises this one."
            ),
        }
    }
}

/// Site B for a lab opened at `a`: `--lab-peer-origin` when set, else the
/// other loopback name (`localhost` ⇄ `127.0.0.1`) on the same port, which
/// browsers count as two sites although both reach this server.
pub fn peer_of(a: &Origin, configured: Option<&Origin>) -> Result<Origin, NoPeer> {
    if let Some(b) = configured {
        return if b == a {
            Err(NoPeer::ThisIsThePeer(b.clone()))
        } else {
            Ok(b.clone())
        };
    }
    if !a.is_loopback() {
        return Err(NoPeer::NotLoopback);
    }
    Ok(if a.host() == "localhost" {
        a.with_host("127.0.0.1")
    } else {
        a.with_host("localhost")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Origin {
        Origin::parse(text).unwrap()
    }

    #[test]
    fn the_loopback_names_swap_roles_on_the_same_port() {
        assert_eq!(
            peer_of(&origin("http://127.0.0.1:5000"), None),
            Ok(origin("http://localhost:5000"))
        );
        assert_eq!(
            peer_of(&origin("http://localhost:5000"), None),
            Ok(origin("http://127.0.0.1:5000"))
        );
        assert_eq!(
            peer_of(&origin("http://[::1]:8080"), None),
            Ok(origin("http://localhost:8080"))
        );
    }

    #[test]
    fn a_remote_address_needs_the_flag_and_the_peer_itself_says_so() {
        let a = origin("https://a.example");
        assert_eq!(peer_of(&a, None), Err(NoPeer::NotLoopback));
        let b = origin("https://b.example");
        assert_eq!(peer_of(&a, Some(&b)), Ok(b.clone()));
        assert_eq!(peer_of(&b, Some(&b)), Err(NoPeer::ThisIsThePeer(b.clone())));
        assert!(NoPeer::NotLoopback.explain().contains("--lab-peer-origin"));
    }
}
