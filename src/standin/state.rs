//! State shared by both listeners' handlers.

use std::sync::{Arc, OnceLock};

use super::auth::{Project, RateLimiter};
use super::shape::Shape;

#[derive(Debug)]
pub struct StandinState {
    /// The demo project first, then the "other" project (empty; its key gets 403 on the first).
    pub projects: Vec<Project>,
    pub limiter: Arc<RateLimiter>,
    /// The platform listener's URL, known once bound (for `audioUrl`).
    pub platform_url: OnceLock<String>,
    /// Which response shapes are served (`serve-demo --shape`).
    pub shape: Shape,
    /// Notes and annotations received on the platform host.
    pub studio: super::studio::Received,
}

pub type SharedState = Arc<StandinState>;
