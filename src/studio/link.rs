//! `https://studio.{us|uk|eu}.poly.ai/{account}/{project}/conversations/{id}`: one builder for
//! the TUI's copy key, the CSV `studio_url` column and the Markdown link line.

use crate::config::{Config, Region};

/// What a Studio link needs besides the conversation id. `None` where the region is unknown
/// (custom base URLs without `region` in the config): no link is better than a wrong one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudioLinks {
    pub region: Region,
    pub account: String,
    pub project: String,
}

impl StudioLinks {
    pub fn new(region: Region, account: impl Into<String>, project: impl Into<String>) -> Self {
        StudioLinks {
            region,
            account: account.into(),
            project: project.into(),
        }
    }

    /// From the configured region (flag, config file, or a PolyAI host URL of either family).
    pub fn from_config(cfg: &Config) -> Option<Self> {
        let region = cfg.region.or_else(|| Region::of_url(&cfg.platform_url))?;
        if cfg.account_id.is_empty() || cfg.project_id.is_empty() {
            return None;
        }
        Some(Self::new(region, &cfg.account_id, &cfg.project_id))
    }

    /// From a client's hosts alone (library callers without a `Config`).
    pub fn from_client(client: &crate::api::Client) -> Option<Self> {
        let region =
            Region::of_url(client.platform_url().as_str()).or_else(|| Region::of_url(client.base_url().as_str()))?;
        Some(Self::new(region, client.account_id(), client.project_id()))
    }

    /// The conversation's page in Agent Studio. Every segment is percent-encoded, so an id from
    /// the network cannot add path segments, a query or escape sequences.
    pub fn conversation_url(&self, id: &str) -> String {
        format!(
            "https://studio.{}.poly.ai/{}/{}/conversations/{}",
            studio_host_region(self.region),
            segment(&self.account),
            segment(&self.project),
            segment(id)
        )
    }
}

/// Studio's host names the EU region `eu` (the runtime host says `euw`).
pub fn studio_host_region(region: Region) -> &'static str {
    match region {
        Region::Us => "us",
        Region::Uk => "uk",
        Region::Euw => "eu",
    }
}

/// RFC 3986 path segment: unreserved characters stay, every other byte becomes `%XX`; `.` and
/// `..` are encoded too, so they never mean "this" or "parent" directory.
fn segment(s: &str) -> String {
    if s == "." || s == ".." {
        return s.replace('.', "%2E");
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_per_region() {
        for (region, host) in [
            (Region::Us, "studio.us.poly.ai"),
            (Region::Uk, "studio.uk.poly.ai"),
            (Region::Euw, "studio.eu.poly.ai"),
        ] {
            let l = StudioLinks::new(region, "acme-uk", "PROJECT-58RP822I");
            assert_eq!(
                l.conversation_url("CA123"),
                format!("https://{host}/acme-uk/PROJECT-58RP822I/conversations/CA123")
            );
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        let l = StudioLinks::new(Region::Us, "ws 1", "P/1");
        assert_eq!(
            l.conversation_url("a/b?c#d\u{1b}]52;é"),
            "https://studio.us.poly.ai/ws%201/P%2F1/conversations/a%2Fb%3Fc%23d%1B%5D52%3B%C3%A9"
        );
        assert_eq!(
            l.conversation_url(".."),
            "https://studio.us.poly.ai/ws%201/P%2F1/conversations/%2E%2E"
        );
        assert!(l.conversation_url("x\u{9b}2J").is_ascii());
    }

    #[test]
    fn the_region_comes_from_the_config_or_a_polyai_host() {
        let resolve = |file: &str, platform: Option<&str>| {
            Config::resolve_with_file(
                &crate::config::ConnectionArgs {
                    base_url: Some("http://127.0.0.1:9".into()),
                    platform_url: platform.map(str::to_string),
                    account_id: Some("ws".into()),
                    project_id: Some("p".into()),
                    ..Default::default()
                },
                &|_| None,
                crate::config::FileConfig::parse(file).unwrap(),
            )
            .unwrap()
        };
        let l = StudioLinks::from_config(&resolve("region = \"eu\"", Some("http://127.0.0.1:10"))).unwrap();
        assert_eq!(
            l.conversation_url("c"),
            "https://studio.eu.poly.ai/ws/p/conversations/c"
        );
        let l = StudioLinks::from_config(&resolve("", Some("https://api.uk.poly.ai"))).unwrap();
        assert_eq!(l.region, Region::Uk);
        assert_eq!(
            StudioLinks::from_config(&resolve("", Some("http://127.0.0.1:10"))),
            None
        );
    }
}
