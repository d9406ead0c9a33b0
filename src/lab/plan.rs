//! What the lab sets and where it looks: the six kinds of cookie, the names
//! they go by, and the contexts (columns of the matrix) in their fixed
//! order.

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::cookies::{CookieSpec, SameSite};
use crate::engine::RequestKind;

/// How long the lab's cookies live: as long as a run is kept, so a
/// forgotten run leaves nothing behind for long.
pub const COOKIE_LIFETIME: Duration = Duration::minutes(10);

/// The kinds of cookie the lab compares: one per row of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None; Secure`.
    None,
    /// No SameSite attribute: each engine applies its default.
    Unspecified,
    /// `Partitioned; Secure` (CHIPS), SameSite unspecified.
    Partitioned,
    /// `__Host-` … `SameSite=None; Secure; Path=/; Partitioned`: the form
    /// CHIPS documentation recommends for an embedded widget's cookie.
    HostPartitioned,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Strict,
        Kind::Lax,
        Kind::None,
        Kind::Unspecified,
        Kind::Partitioned,
        Kind::HostPartitioned,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Kind::Strict => "strict",
            Kind::Lax => "lax",
            Kind::None => "none",
            Kind::Unspecified => "unspecified",
            Kind::Partitioned => "partitioned",
            Kind::HostPartitioned => "host-partitioned",
        }
    }

    /// The attributes, as written in the `Set-Cookie` line.
    pub fn attributes(self) -> &'static str {
        match self {
            Kind::Strict => "SameSite=Strict",
            Kind::Lax => "SameSite=Lax",
            Kind::None => "SameSite=None; Secure",
            Kind::Unspecified => "(no SameSite)",
            Kind::Partitioned => "Partitioned; Secure",
            Kind::HostPartitioned => "__Host- SameSite=None; Secure; Partitioned",
        }
    }

    /// The cookie of this kind for `role`, with `value`.
    pub fn spec(self, role: Role, value: &str) -> CookieSpec {
        let base = CookieSpec::new(name(self, role), value)
            .http_only(true)
            .max_age(COOKIE_LIFETIME);
        match self {
            Kind::Strict => base.same_site(SameSite::Strict),
            Kind::Lax => base.same_site(SameSite::Lax),
            Kind::None => base.same_site(SameSite::None).secure(true),
            Kind::Unspecified => base,
            Kind::Partitioned => CookieSpec {
                partitioned: true,
                ..base.secure(true)
            },
            Kind::HostPartitioned => CookieSpec {
                partitioned: true,
                ..base.same_site(SameSite::None).secure(true)
            },
        }
    }

    /// The removals of this kind's cookie for `role`: one for the site's own
    /// jar and one for its partitioned jar (a removal only reaches a
    /// partitioned cookie when it is `Partitioned` itself, set in the same
    /// partition).
    pub fn removals(self, role: Role) -> [CookieSpec; 2] {
        let plain = CookieSpec::removal(name(self, role), Some("/".to_owned()), None);
        let partitioned = CookieSpec {
            partitioned: true,
            ..CookieSpec::removal(name(self, role), Some("/".to_owned()), None)
                .secure(true)
                .same_site(SameSite::None)
        };
        [plain, partitioned]
    }
}

/// What a lab cookie is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Set at top level before the run, then watched: is it sent?
    Sent,
    /// Set by the response to the iframe on the other site's page.
    SetByIframe,
    /// Set by the response to the other site's credentialed CORS fetch.
    SetByFetch,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Sent, Role::SetByIframe, Role::SetByFetch];

    /// The request whose response sets the cookie.
    pub fn setter(self) -> Option<Column> {
        match self {
            Role::Sent => None,
            Role::SetByIframe => Some(Column::Iframe),
            Role::SetByFetch => Some(Column::CorsFetch),
        }
    }
}

/// The name of the cookie of `kind` for `role`.
pub fn name(kind: Kind, role: Role) -> String {
    let middle = match role {
        Role::Sent => "",
        Role::SetByIframe => "frame-",
        Role::SetByFetch => "fetch-",
    };
    let short = match kind {
        Kind::Strict => "strict",
        Kind::Lax => "lax",
        Kind::None => "none",
        Kind::Unspecified => "unspec",
        Kind::Partitioned => "part",
        Kind::HostPartitioned => return format!("__Host-lab-{middle}chips"),
    };
    format!("lab-{middle}{short}")
}

/// Every cookie the lab ever sets, in a fixed order: the bit positions of
/// [`super::run::NameSet`].
pub fn all_names() -> impl Iterator<Item = (Role, Kind, String)> {
    Role::ALL.into_iter().flat_map(|role| {
        Kind::ALL
            .into_iter()
            .map(move |kind| (role, kind, name(kind, role)))
    })
}

/// Every removal that clears the lab's cookies from the jar a response
/// reaches (its site's own, and its partition in that context).
pub fn all_removals() -> Vec<CookieSpec> {
    Role::ALL
        .into_iter()
        .flat_map(|role| {
            Kind::ALL
                .into_iter()
                .flat_map(move |kind| kind.removals(role))
        })
        .collect()
}

/// Which site a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Site {
    /// The site the lab was opened on.
    A,
    /// The other site, which A exercises.
    B,
}

/// A place where the lab looks: one request, in the fixed order of a run.
/// The popup and the redirects come last, because Firefox grants a site
/// storage access after some popups and redirects (its storage-access
/// heuristics), which would change every later cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Column {
    /// B in an iframe on A's page; its response sets the `lab-frame-*`
    /// cookies.
    Iframe,
    /// A fetch from that iframe to B.
    IframeFetch,
    /// An image from B on A's page.
    Image,
    /// A's `fetch(…, {credentials: "include"})` to B; its response sets the
    /// `lab-fetch-*` cookies.
    CorsFetch,
    /// The same fetch again, to read what the two responses above stored in
    /// B's jar under A (not a column of the sending matrix).
    PartitionReadback,
    /// A link on A's page to B.
    Link,
    /// B's page (reached by that link) navigating to B: the control, and
    /// the top-level read of B's jar for the setting cells.
    SameSite,
    /// A form on A's page posted to B.
    FormPost,
    /// `A → B`: the first hop of the redirect chain.
    Redirect1,
    /// `A → B → A`: back on A; what A's own lab cookies do.
    Redirect2,
    /// `A → B → A → B`: the last hop.
    Redirect3,
    /// `window.open` of B from A's page, on a click.
    Popup,
}

impl Column {
    pub const ALL: [Column; 12] = [
        Column::Iframe,
        Column::IframeFetch,
        Column::Image,
        Column::CorsFetch,
        Column::PartitionReadback,
        Column::Link,
        Column::SameSite,
        Column::FormPost,
        Column::Redirect1,
        Column::Redirect2,
        Column::Redirect3,
        Column::Popup,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Column::Iframe => "iframe",
            Column::IframeFetch => "iframe-fetch",
            Column::Image => "image",
            Column::CorsFetch => "cors-fetch",
            Column::PartitionReadback => "partition-readback",
            Column::Link => "link",
            Column::SameSite => "same-site",
            Column::FormPost => "form-post",
            Column::Redirect1 => "redirect-1",
            Column::Redirect2 => "redirect-2",
            Column::Redirect3 => "redirect-3",
            Column::Popup => "popup",
        }
    }

    pub fn from_id(id: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.id() == id)
    }

    /// A short heading.
    pub fn title(self) -> &'static str {
        match self {
            Column::Iframe => "iframe",
            Column::IframeFetch => "fetch in the iframe",
            Column::Image => "image",
            Column::CorsFetch => "CORS fetch",
            Column::PartitionReadback => "fetch again",
            Column::Link => "link (GET)",
            Column::SameSite => "B → B",
            Column::FormPost => "form (POST)",
            Column::Redirect1 => "A → B",
            Column::Redirect2 => "A → B → A",
            Column::Redirect3 => "A → B → A → B",
            Column::Popup => "popup",
        }
    }

    /// The kind of request, in the table both halves of the engine model
    /// share.
    pub fn request(self) -> RequestKind {
        match self {
            Column::Iframe => RequestKind::CrossSiteIframe,
            Column::IframeFetch => RequestKind::FetchFromCrossSiteIframe,
            Column::Image => RequestKind::CrossSiteImage,
            Column::CorsFetch | Column::PartitionReadback => RequestKind::CrossSiteCorsFetch,
            Column::Link => RequestKind::CrossSiteLink,
            Column::SameSite => RequestKind::SameSiteNavigation,
            Column::FormPost => RequestKind::CrossSiteFormPost,
            Column::Redirect1 | Column::Redirect3 => RequestKind::CrossSiteRedirectHop,
            Column::Redirect2 => RequestKind::RedirectBackAfterCrossSite,
            Column::Popup => RequestKind::CrossSitePopup,
        }
    }

    /// The site the request goes to (and whose lab cookies it may carry).
    pub fn site(self) -> Site {
        if self == Column::Redirect2 {
            Site::A
        } else {
            Site::B
        }
    }

    /// The path the request goes to (the cookie path rules see it).
    pub fn path(self) -> &'static str {
        match self {
            Column::Iframe => "/lab/peer/frame",
            Column::IframeFetch => "/lab/peer/hit",
            Column::Image => "/lab/peer/img",
            Column::CorsFetch | Column::PartitionReadback => "/lab/peer/cors",
            Column::Link | Column::SameSite | Column::FormPost | Column::Popup => "/lab/peer/visit",
            Column::Redirect1 | Column::Redirect3 => "/lab/peer/hop",
            Column::Redirect2 => "/lab/hop",
        }
    }

    /// Whether the matrix of what is sent has this column.
    pub fn in_sending_matrix(self) -> bool {
        self != Column::PartitionReadback
    }

    /// Whether the run reaches it without a click (all but the popup).
    pub fn automatic(self) -> bool {
        self != Column::Popup
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookies::reserved::is_lab_name;

    #[test]
    fn every_name_is_a_lab_name_and_unique() {
        let names: Vec<String> = all_names().map(|(_, _, n)| n).collect();
        assert_eq!(names.len(), 18);
        for name in &names {
            assert!(is_lab_name(name), "{name}");
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
        assert_eq!(name(Kind::HostPartitioned, Role::Sent), "__Host-lab-chips");
        assert_eq!(
            name(Kind::Unspecified, Role::SetByIframe),
            "lab-frame-unspec"
        );
    }

    #[test]
    fn each_kind_is_written_as_its_attributes_say() {
        let now = time::macros::datetime!(2026-11-29 12:00 UTC);
        let line = |kind: Kind| {
            let text = kind.spec(Role::Sent, "v").to_header_value(now);
            // The expiry varies with the clock: compare the rest.
            text.split("; ")
                .filter(|a| !a.starts_with("Max-Age") && !a.starts_with("Expires"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        assert_eq!(
            line(Kind::Strict),
            "lab-strict=v; HttpOnly; SameSite=Strict; Path=/"
        );
        assert_eq!(line(Kind::Unspecified), "lab-unspec=v; HttpOnly; Path=/");
        assert_eq!(
            line(Kind::Partitioned),
            "lab-part=v; HttpOnly; Partitioned; Secure; Path=/"
        );
        assert_eq!(
            line(Kind::HostPartitioned),
            "__Host-lab-chips=v; HttpOnly; SameSite=None; Partitioned; Secure; Path=/"
        );
    }

    #[test]
    fn columns_run_in_a_fixed_order_with_the_popup_and_redirects_last() {
        let position = |c: Column| Column::ALL.iter().position(|&x| x == c).unwrap();
        let last_subresource = position(Column::PartitionReadback);
        for c in [
            Column::Redirect1,
            Column::Redirect2,
            Column::Redirect3,
            Column::Popup,
        ] {
            assert!(position(c) > last_subresource, "{c:?}");
            assert!(position(c) > position(Column::FormPost), "{c:?}");
        }
        assert_eq!(Column::ALL.last(), Some(&Column::Popup));
        for c in Column::ALL {
            assert_eq!(Column::from_id(c.id()), Some(c));
        }
    }
}
