//! The audio engine: a dedicated thread that owns the output device and the players.
//! The TUI sends [`AudioCommand`]s and receives [`AudioEvent`]s; nothing here blocks the UI.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rodio::Player;
use tokio::sync::mpsc::UnboundedSender;

use super::device::{self, Output, OutputGuard};
use super::download::{self, Stream, StreamNotice};
use super::envelope::BUCKET;
use super::format::WavFormat;
pub use super::messages::{AudioCommand, AudioEvent, EngineOptions, PlaybackState};
use super::source::{PlayControls, StreamSource};
use crate::api::{AudioDirection, AudioRequest, Client};

/// How often position events are sent while playing.
const TICK: Duration = Duration::from_millis(100);

enum Msg {
    Cmd(AudioCommand),
    Notice(u64, StreamNotice),
    Ready(u64, Result<WavFormat, String>),
    DeviceError(String),
    Shutdown,
}

/// Handle to the engine thread. Dropping it stops playback and joins the thread.
pub struct AudioEngine {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl AudioEngine {
    /// Starts the engine thread. Downloads run on the current tokio runtime when there is one
    /// (the `Client`'s connection pool then lives there), else on a private one.
    pub fn start(client: Client, events: UnboundedSender<AudioEvent>) -> AudioEngine {
        Self::start_with(client, events, EngineOptions::default())
    }

    // Allowed: without a runtime or a thread there is no player; failing loudly at start-up is the only option.
    #[allow(clippy::unwrap_used, clippy::expect_used)]
    pub fn start_with(client: Client, events: UnboundedSender<AudioEvent>, options: EngineOptions) -> AudioEngine {
        let (tx, rx) = mpsc::channel();
        let handle = tokio::runtime::Handle::try_current().ok();
        let self_tx = tx.clone();
        let thread = std::thread::Builder::new()
            .name("callscope-audio".into())
            .spawn(move || {
                let own_rt = match handle {
                    Some(_) => None,
                    None => Some(
                        tokio::runtime::Builder::new_multi_thread()
                            .worker_threads(1)
                            .enable_all()
                            .build()
                            .expect("building a tokio runtime"),
                    ),
                };
                let rt = handle.unwrap_or_else(|| own_rt.as_ref().unwrap().handle().clone());
                let mut engine = Engine::new(client, events, rt, self_tx, options);
                engine.run(rx);
                engine.stop_session();
                drop(engine);
                drop(own_rt);
            })
            .expect("spawning the audio thread");
        AudioEngine {
            tx,
            thread: Some(thread),
        }
    }

    /// Queues a command; never blocks.
    pub fn send(&self, cmd: AudioCommand) {
        let _ = self.tx.send(Msg::Cmd(cmd));
    }
}

impl Drop for AudioEngine {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Live {
    player: Player,
    ctl: Arc<PlayControls>,
    _guard: OutputGuard,
}

struct Session {
    id: String,
    request: AudioRequest,
    hint: Option<Duration>,
    stream: Stream,
    fmt: Option<WavFormat>,
    live: Option<Live>,
    /// Position while nothing plays yet (buffering).
    pending: Duration,
    ended: bool,
    /// The wait for header + prebuffer; aborted with the session so it cannot outlive the
    /// download it waits on (it would hold the buffer forever).
    waiting: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.waiting.abort();
    }
}

struct Engine {
    client: Client,
    events: UnboundedSender<AudioEvent>,
    rt: tokio::runtime::Handle,
    tx: mpsc::Sender<Msg>,
    options: EngineOptions,
    output: Option<Output>,
    generation: u64,
    session: Option<Session>,
    paused: bool,
    speed: f32,
    volume: f32,
    state: PlaybackState,
    last_position: Option<Duration>,
    /// `redacted=` for every recording fetched from now on (`None`: the API's default).
    redacted: Option<bool>,
}

impl Engine {
    fn new(
        client: Client,
        events: UnboundedSender<AudioEvent>,
        rt: tokio::runtime::Handle,
        tx: mpsc::Sender<Msg>,
        options: EngineOptions,
    ) -> Self {
        Engine {
            client,
            events,
            rt,
            tx,
            options,
            output: None,
            generation: 0,
            session: None,
            paused: false,
            speed: 1.0,
            volume: 1.0,
            state: PlaybackState::Idle,
            last_position: None,
            redacted: None,
        }
    }

    fn run(&mut self, rx: mpsc::Receiver<Msg>) {
        let mut next_tick = Instant::now() + TICK;
        loop {
            match rx.recv_timeout(next_tick.saturating_duration_since(Instant::now())) {
                Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Msg::Cmd(c)) => self.command(c),
                Ok(Msg::Notice(g, n)) if g == self.generation => self.notice(n),
                Ok(Msg::Ready(g, r)) if g == self.generation => self.ready(r),
                Ok(Msg::DeviceError(e)) => self.emit(AudioEvent::Error(e)),
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() >= next_tick {
                self.tick();
                next_tick = Instant::now() + TICK;
            }
        }
    }

    fn emit(&self, e: AudioEvent) {
        let _ = self.events.send(e);
    }

    fn set_state(&mut self, s: PlaybackState) {
        if self.state != s {
            self.state = s.clone();
            self.emit(AudioEvent::State(s));
        }
    }

    fn ensure_output(&mut self) {
        if self.output.is_some() {
            return;
        }
        self.output = Some(if self.options.use_device {
            let tx = self.tx.clone();
            let on_error = move |e: String| {
                let _ = tx.send(Msg::DeviceError(e));
            };
            match device::open_default_output(on_error) {
                Ok(sink) => Output::Device(sink),
                Err(reason) => {
                    tracing::info!("{reason}");
                    self.emit(AudioEvent::NoDevice(reason));
                    Output::Silent
                }
            }
        } else {
            Output::Silent
        });
    }

    fn command(&mut self, c: AudioCommand) {
        match c {
            AudioCommand::Play {
                conversation_id,
                direction,
                total_duration_hint,
                start_at,
            } => {
                self.paused = false;
                let request = AudioRequest {
                    direction,
                    redacted: self.redacted,
                    utterance: None,
                };
                self.play(conversation_id, request, total_duration_hint, start_at);
            }
            AudioCommand::PlayUtterance {
                conversation_id,
                url,
                duration_hint,
            } => {
                self.paused = false;
                let request = AudioRequest {
                    direction: AudioDirection::User,
                    redacted: self.redacted,
                    utterance: Some(url),
                };
                self.play(conversation_id, request, duration_hint, Duration::ZERO);
            }
            AudioCommand::SetRedacted(redacted) => {
                self.redacted = redacted;
                let Some(s) = &self.session else { return };
                if s.request.redacted == redacted {
                    return;
                }
                let request = AudioRequest {
                    redacted,
                    ..s.request.clone()
                };
                let (id, hint, pos) = (s.id.clone(), s.hint, self.position());
                self.play(id, request, hint, pos);
            }
            AudioCommand::Pause => self.pause(),
            AudioCommand::Resume => self.resume(),
            AudioCommand::TogglePause => match self.state {
                PlaybackState::Playing | PlaybackState::Buffering if !self.paused => self.pause(),
                _ => self.resume(),
            },
            AudioCommand::Stop => {
                self.stop_session();
                self.set_state(PlaybackState::Idle);
            }
            AudioCommand::Seek(t) => self.seek(t),
            AudioCommand::SeekBy(secs) => {
                let now = self.position();
                let t = if secs < 0 {
                    now.saturating_sub(Duration::from_secs(secs.unsigned_abs()))
                } else {
                    now + Duration::from_secs(secs as u64)
                };
                self.seek(t);
            }
            AudioCommand::SetSpeed(s) => {
                self.speed = if s.is_finite() { s.clamp(0.5, 2.0) } else { 1.0 };
                if let Some(l) = self.live() {
                    l.player.set_speed(self.speed);
                }
            }
            AudioCommand::SetVolume(v) => {
                self.volume = if v.is_finite() { v.clamp(0.0, 2.0) } else { 1.0 };
                if let Some(l) = self.live() {
                    l.player.set_volume(self.volume);
                }
            }
            AudioCommand::SetDirection(d) => {
                let Some(s) = &self.session else { return };
                // One utterance is the caller's audio only: there is no other direction of it.
                if s.request.direction == d || s.request.utterance.is_some() {
                    return;
                }
                let request = AudioRequest {
                    direction: d,
                    ..s.request.clone()
                };
                let (id, hint, pos) = (s.id.clone(), s.hint, self.position());
                self.play(id, request, hint, pos);
            }
        }
    }

    fn live(&self) -> Option<&Live> {
        self.session.as_ref()?.live.as_ref()
    }

    fn duration(&self) -> Option<Duration> {
        let s = self.session.as_ref()?;
        s.fmt.map(|f| f.duration()).or(s.hint)
    }

    fn position(&self) -> Duration {
        let Some(s) = &self.session else {
            return Duration::ZERO;
        };
        match (&s.live, s.fmt) {
            (Some(l), Some(f)) => f.time_of(l.ctl.frame()),
            _ => s.pending,
        }
    }

    fn play(&mut self, id: String, request: AudioRequest, hint: Option<Duration>, start: Duration) {
        self.stop_session();
        self.ensure_output();
        let generation = self.generation;
        let tx = self.tx.clone();
        let observer = Arc::new(move |n| {
            let _ = tx.send(Msg::Notice(generation, n));
        });
        let stream = Stream::open(&self.rt, self.client.clone(), id.clone(), request.clone(), observer);
        let waiting = self.wait_ready(&stream, start);
        self.session = Some(Session {
            id,
            request,
            hint,
            stream,
            fmt: None,
            live: None,
            pending: start,
            ended: false,
            waiting,
        });
        self.set_state(if self.paused {
            PlaybackState::Paused
        } else {
            PlaybackState::Buffering
        });
        self.emit_position(true);
    }

    /// Waits (on the runtime) for the header and the prebuffer at `start`, then posts `Ready`.
    fn wait_ready(&self, stream: &Stream, start: Duration) -> tokio::task::JoinHandle<()> {
        let (buf, tx, prebuffer) = (stream.buf.clone(), self.tx.clone(), self.options.prebuffer);
        let generation = self.generation;
        self.rt.spawn(async move {
            let r = download::ready(&buf, start, prebuffer).await;
            let _ = tx.send(Msg::Ready(generation, r));
        })
    }

    /// Header and prebuffer are in: build the player and attach it (append before attaching:
    /// rodio 0.23 otherwise plays the first 512 samples in the idle queue's format).
    fn ready(&mut self, r: Result<WavFormat, String>) {
        match r {
            Ok(fmt) => {
                let frame = {
                    let Some(s) = self.session.as_mut() else {
                        return;
                    };
                    if s.live.is_some() {
                        return; // an earlier wait already attached
                    }
                    s.fmt = Some(fmt);
                    fmt.frame_at(s.pending)
                };
                self.attach(frame);
            }
            Err(msg) => self.set_state(PlaybackState::Error(msg)),
        }
    }

    fn attach(&mut self, frame: u64) {
        let Some(output) = &self.output else { return };
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some(fmt) = s.fmt else { return };
        if let Some(old) = s.live.take() {
            old.player.stop();
        }
        let src = StreamSource::new(s.stream.buf.clone(), fmt, frame);
        let ctl = src.controls();
        let (player, queue) = Player::new();
        player.set_speed(self.speed);
        player.set_volume(self.volume);
        if self.paused {
            player.pause();
        }
        player.append(src);
        let guard = device::connect(output, queue);
        s.live = Some(Live {
            player,
            ctl,
            _guard: guard,
        });
        s.ended = false;
        self.set_state(if self.paused {
            PlaybackState::Paused
        } else {
            PlaybackState::Playing
        });
        self.emit_position(true);
    }

    fn stop_session(&mut self) {
        self.generation += 1;
        if let Some(l) = self.session.take().as_mut().and_then(|s| s.live.take()) {
            l.player.stop();
        }
        // Dropping the session's Stream aborts its download.
        self.last_position = None;
    }

    fn pause(&mut self) {
        self.paused = true;
        if let Some(l) = self.live() {
            l.player.pause();
        }
        if self.session.as_ref().is_some_and(|s| !s.ended) {
            self.set_state(PlaybackState::Paused);
        }
    }

    fn resume(&mut self) {
        self.paused = false;
        let Some(s) = &self.session else { return };
        if s.ended {
            self.attach(0);
            return;
        }
        match &s.live {
            Some(l) => {
                l.player.play();
                self.set_state(PlaybackState::Playing);
            }
            None => self.set_state(PlaybackState::Buffering),
        }
    }

    // Cannot fail: the session was checked to be present just above.
    #[allow(clippy::expect_used)]
    fn seek(&mut self, t: Duration) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        // Clamp to the real length; the hint may be wrong, so it does not limit a seek.
        let t = s.fmt.map_or(t, |f| t.min(f.duration()));
        if s.live.is_none() {
            // Still buffering: wait for the header and prebuffer at the new place instead.
            s.pending = t;
            let waiting = self.wait_ready(&self.session.as_ref().expect("checked").stream, t);
            let s = self.session.as_mut().expect("checked above");
            std::mem::replace(&mut s.waiting, waiting).abort();
            self.emit_position(true);
            return;
        }
        let Some(fmt) = s.fmt else { return };
        let frame = fmt.frame_at(t);
        let byte = fmt.byte_of(frame);
        if !s.stream.buf.lock().covered.covers(byte, byte + fmt.block_align()) {
            s.stream.buf.request(byte); // starts a Range request now, even when paused
        }
        match &s.live {
            Some(l) if !s.ended => l.ctl.seek(frame),
            _ => self.attach(frame),
        }
        self.emit_position(true);
    }

    fn emit_position(&mut self, force: bool) {
        let position = self.position();
        if force || self.last_position != Some(position) {
            self.last_position = Some(position);
            let duration = self.duration();
            self.emit(AudioEvent::Position { position, duration });
        }
    }

    fn tick(&mut self) {
        let Some(s) = &mut self.session else { return };
        let Some(l) = &s.live else { return };
        if !s.ended && l.ctl.ended() {
            s.ended = true;
            self.emit_position(false);
            self.set_state(PlaybackState::Ended);
            return;
        }
        if s.ended || self.paused {
            return;
        }
        let starving = l.ctl.starving();
        self.set_state(if starving {
            PlaybackState::Buffering
        } else {
            PlaybackState::Playing
        });
        self.emit_position(false);
    }

    fn notice(&mut self, n: StreamNotice) {
        match n {
            StreamNotice::Format(f) => {
                if let Some(s) = &mut self.session {
                    s.fmt = Some(f);
                }
                self.emit(AudioEvent::Format {
                    channels: f.channels,
                    sample_rate: f.sample_rate,
                    bits_per_sample: f.bits_per_sample,
                    duration: f.duration(),
                    envelope_len: f.buckets(BUCKET),
                });
            }
            StreamNotice::Progress { bytes, total } => self.emit(AudioEvent::Download { bytes, total }),
            StreamNotice::Levels { first, values } => self.emit(AudioEvent::Levels { first, values }),
            StreamNotice::RangeRequest { from_byte } => {
                tracing::debug!(from_byte, "recording: range request after a seek");
            }
            StreamNotice::Error(msg) => {
                tracing::warn!("recording: {msg}");
                self.emit(AudioEvent::Error(msg));
            }
        }
    }
}
