//! An audio download `Stream` against a [`TestServer`] serving one recording, with the notices
//! it reports collected for the assertions.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use callscope::api::AudioDirection;
use callscope::audio::download::{Stream, StreamNotice};

use super::testserver::{Reply, ServerConfig, TestServer};

pub type Notices = Arc<Mutex<Vec<StreamNotice>>>;

/// A server answering `id`'s recording with `reply`, in `chunk`-byte writes `pause_ms` apart.
pub async fn serve_recording(id: &str, reply: Reply, ranges: bool, chunk: usize, pause_ms: u64) -> TestServer {
    TestServer::start(ServerConfig {
        replies: [(id.to_string(), reply)].into(),
        ranges,
        chunk,
        pause: Duration::from_millis(pause_ms),
    })
    .await
}

/// Opens the combined recording of `id` on the current runtime.
pub fn open_stream(server: &TestServer, id: &str) -> (Stream, Notices) {
    let notices: Notices = Default::default();
    let n = notices.clone();
    let stream = Stream::open(
        &tokio::runtime::Handle::current(),
        server.client(),
        id.into(),
        AudioDirection::Combined,
        Arc::new(move |x| n.lock().unwrap().push(x)),
    );
    (stream, notices)
}

/// The error notices so far, in order.
pub fn stream_errors(n: &Notices) -> Vec<String> {
    n.lock()
        .unwrap()
        .iter()
        .filter_map(|x| match x {
            StreamNotice::Error(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}
