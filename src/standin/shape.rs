//! Which response shapes the stand-in serves (`serve-demo --shape`).
//!
//! - `v3`: the documented shapes only (polyai-api.md): snake_case v3 objects, the reference
//!   camelCase by-id object, every route present.
//! - `platform`: the platform family as live projects serve it (real-api-shapes.md, built by
//!   `real`); the v3 by-id and v3 audio routes are missing (the route-missing 404).
//! - `mixed`: the v3 list as documented, the platform by-id in the real shape, and the v3 by-id
//!   and audio routes missing for a fixed share of conversations (`MIXED_V3_MISSING_SHARE`).
//!
//! Every shape serves the v3 list (with `sample=random`) and the platform list
//! (`/v1/agents/{project}/conversations?limit&offset`).

use super::rng::{Rng, mix};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Shape {
    /// The documented shapes, every route present.
    #[default]
    V3,
    /// The real platform shapes; v3 by-id and v3 audio missing.
    Platform,
    /// The v3 list in snake_case with the live content, the real platform by-id, v3 by-id
    /// missing for a share of calls.
    Mixed,
}

/// The share of conversations whose v3 by-id and audio routes are missing in `mixed`.
pub const MIXED_V3_MISSING_SHARE: f64 = 0.3;

/// A stable 64-bit hash of a conversation id (FNV-1a, then mixed): the per-call choices of the
/// shapes depend on the id only, so they hold for generated and inserted calls alike.
pub fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::V3 => "v3",
            Shape::Platform => "platform",
            Shape::Mixed => "mixed",
        }
    }

    /// Whether the platform by-id (and list) objects take the real shape.
    pub fn real_platform_objects(self) -> bool {
        self != Shape::V3
    }

    /// Whether `GET /v3/…/conversations/{id}[/audio]` answers the route-missing 404 for `id`.
    pub fn v3_by_id_missing(self, seed: u64, id: &str) -> bool {
        match self {
            Shape::V3 => false,
            Shape::Platform => true,
            Shape::Mixed => Rng::fork(seed ^ 0x0003_0B1D, id_hash(id)).chance(MIXED_V3_MISSING_SHARE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_hides_about_the_share_deterministically() {
        let ids: Vec<String> = (0..2000).map(|i| format!("CA{i:032x}")).collect();
        let missing = |seed| ids.iter().filter(|id| Shape::Mixed.v3_by_id_missing(seed, id)).count();
        let n = missing(7);
        assert!((500..700).contains(&n), "~30% of 2000: {n}");
        assert_eq!(n, missing(7), "same seed, same share");
        assert!(ids.iter().all(|id| Shape::Platform.v3_by_id_missing(7, id)));
        assert!(ids.iter().all(|id| !Shape::V3.v3_by_id_missing(7, id)));
    }
}
