//! TLS to the team database as libpq does it: `sslmode` = disable | prefer | require | verify-ca |
//! verify-full and `sslrootcert` (a PEM file of CA certificates, or `system` for the OS's roots).
//! tokio-postgres knows only disable/prefer/require and no `sslrootcert`, so both are taken out of
//! the URL here and the checks they ask for live in this module's certificate verifier (rustls,
//! the same crates reqwest already uses).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::{Result, anyhow, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(s: &str) -> Result<Mode> {
        Ok(match s {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            // `allow` is libpq's "plain first, TLS if refused": not worth a mode of its own.
            _ => bail!("[team] database: sslmode must be disable, prefer, require, verify-ca or verify-full"),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres negotiates: the verify modes are `require` plus this module's checks.
    pub fn wire(self) -> SslMode {
        match self {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }
}

/// Where the trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// None given and no `~/.postgresql/root.crt`: the certificate is not checked.
    None,
    File(PathBuf),
    System,
}

/// The URL's TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    pub roots: Roots,
}

impl Policy {
    /// Whether the server's certificate chain is checked; as libpq, `require` and `prefer` check
    /// it when a root certificate is at hand.
    pub fn checks_chain(&self) -> bool {
        self.mode != Mode::Disable && self.roots != Roots::None
    }

    /// One line for `doctor` and messages.
    pub fn describe(&self) -> String {
        let roots = match &self.roots {
            Roots::None => String::new(),
            Roots::File(p) => format!(" against {}", p.display()),
            Roots::System => " against the system's roots".into(),
        };
        match self.mode {
            Mode::Disable => "sslmode=disable".into(),
            Mode::VerifyFull => format!("sslmode=verify-full: certificate and host name checked{roots}"),
            _ if self.checks_chain() => format!("sslmode={}: certificate checked{roots}", self.mode.name()),
            _ => format!("sslmode={}: certificate not checked", self.mode.name()),
        }
    }

    /// The rustls connector for this policy.
    pub fn connector(&self) -> Result<MakeRustls> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        // Without TLS there is no certificate to check: the roots are not even read.
        let roots = match (&self.roots, self.mode) {
            (_, Mode::Disable) | (Roots::None, _) => None,
            (Roots::File(p), _) => Some(load_file(p)?),
            (Roots::System, _) => Some(load_system()?),
        };
        let verifier = Verifier {
            roots: roots.map(Arc::new),
            check_name: self.mode == Mode::VerifyFull,
            algorithms: provider.signature_verification_algorithms,
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow!("TLS setup: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(MakeRustls {
            config: Arc::new(config),
        })
    }
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL: the URL tokio-postgres may parse,
/// and the policy. `home` finds libpq's default `~/.postgresql/root.crt`.
pub fn split_url(url: &str, home: Option<&Path>) -> Result<(String, Policy)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut mode = Mode::Prefer; // libpq's default
    let mut rootcert = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => mode = Mode::parse(&percent_decode(v))?,
            "sslrootcert" => rootcert = Some(percent_decode(v)),
            _ => rest.push(pair),
        }
    }
    // As libpq: `sslmode=disable` reads no certificate file, so a stale or broken
    // `~/.postgresql/root.crt` (or sslrootcert) cannot stop a plain connection.
    let roots = match rootcert.as_deref() {
        _ if mode == Mode::Disable => Roots::None,
        Some("system") => Roots::System,
        Some(p) => {
            let p = PathBuf::from(p);
            if !p.is_file() {
                bail!(
                    "[team] database: sslrootcert {} is not a readable file: point it at the PEM file of the CA \
                     that signed the server's certificate",
                    p.display()
                );
            }
            Roots::File(p)
        }
        None => match home.map(|h| h.join(".postgresql/root.crt")) {
            Some(p) if p.is_file() => Roots::File(p),
            _ => Roots::None,
        },
    };
    if matches!(mode, Mode::VerifyCa | Mode::VerifyFull) && roots == Roots::None {
        bail!(
            "[team] database asks for sslmode={} and names no CA certificate: add \
             &sslrootcert=/path/to/root.crt (the CA that signed the server's certificate), put it at \
             ~/.postgresql/root.crt, or use &sslrootcert=system for the system's roots",
            mode.name()
        );
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, Policy { mode, roots }))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn load_file(path: &Path) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| anyhow!("cannot read sslrootcert {}: {e}", path.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| anyhow!("sslrootcert {} is not PEM certificates: {e}", path.display()))?;
        store
            .add(cert)
            .map_err(|e| anyhow!("sslrootcert {} holds a certificate rustls rejects: {e}", path.display()))?;
    }
    if store.is_empty() {
        bail!(
            "sslrootcert {} holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)",
            path.display()
        );
    }
    Ok(store)
}

fn load_system() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        bail!("sslrootcert=system: no CA certificates found on this system (install ca-certificates)");
    }
    Ok(store)
}

/// libpq's checks: the chain when there are roots, the host name for verify-full. Handshake
/// signatures are always checked (they prove the server holds the certificate's key).
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if self.check_name {
            rustls::client::verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// tokio-postgres' hook for a TLS implementation.
#[derive(Clone)]
pub struct MakeRustls {
    config: Arc<ClientConfig>,
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        // Called for Unix sockets too (with no name), where TLS is never negotiated: a bad name
        // is an error only if a handshake is attempted.
        Ok(RustlsConnect {
            config: self.config.clone(),
            name: ServerName::try_from(domain.to_string()).ok(),
        })
    }
}

pub struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: Option<ServerName<'static>>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let name = self.name.ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "the host is not a valid TLS server name")
            })?;
            let tls = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(tls))
        })
    }
}

pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // No tls-server-end-point binding: SCRAM then runs without channel binding, which the
        // server accepts unless it is configured to demand it.
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_leave_the_url_and_become_a_policy() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("my ca.crt");
        std::fs::write(&ca, "x").unwrap();
        let url = format!(
            "postgres://a@h/d?sslmode=verify-full&sslrootcert={}&application_name=x",
            ca.display().to_string().replace(' ', "%20")
        );
        let (rest, p) = split_url(&url, None).unwrap();
        assert_eq!(rest, "postgres://a@h/d?application_name=x");
        assert_eq!(p.mode, Mode::VerifyFull);
        assert_eq!(p.roots, Roots::File(ca.clone()));
        let (rest, p) = split_url("postgres://a@h/d", None).unwrap();
        assert_eq!(
            (rest.as_str(), p.mode, p.roots),
            ("postgres://a@h/d", Mode::Prefer, Roots::None)
        );
        // libpq's default root file makes `require` check the chain.
        std::fs::create_dir(dir.path().join(".postgresql")).unwrap();
        std::fs::write(dir.path().join(".postgresql/root.crt"), "x").unwrap();
        let (_, p) = split_url("postgres://a@h/d?sslmode=require", Some(dir.path())).unwrap();
        assert!(p.checks_chain(), "{p:?}");
        let e = split_url("postgres://a@h/d?sslmode=verify-ca", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sslrootcert") && e.contains("root.crt"), "{e}");
        let e = split_url("postgres://a@h/d?sslmode=verify-ca&sslrootcert=/no/such", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such") && e.contains("not a readable file"), "{e}");
        let e = split_url("postgres://a@h/d?sslmode=allow", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("verify-full"), "{e}");
    }

    #[test]
    fn sslmode_disable_reads_no_root_certificate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".postgresql")).unwrap();
        std::fs::write(dir.path().join(".postgresql/root.crt"), "not a certificate\n").unwrap();
        for url in [
            "postgres://a@h/d?sslmode=disable",
            "postgres://a@h/d?sslmode=disable&sslrootcert=/no/such",
        ] {
            let (_, p) = split_url(url, Some(dir.path())).unwrap();
            assert_eq!(p.roots, Roots::None, "{url}");
            assert!(p.connector().is_ok(), "{url}");
        }
        let p = Policy {
            mode: Mode::Disable,
            roots: Roots::File(dir.path().join(".postgresql/root.crt")),
        };
        assert!(p.connector().is_ok(), "a disabled policy's roots are never read");
        // The other modes still read it, and say what is wrong with it.
        let (_, p) = split_url("postgres://a@h/d?sslmode=require", Some(dir.path())).unwrap();
        let e = p.connector().err().unwrap().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
    }

    #[test]
    fn a_root_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("root.crt");
        std::fs::write(&f, "not a certificate\n").unwrap();
        let p = Policy {
            mode: Mode::VerifyFull,
            roots: Roots::File(f),
        };
        let e = p.connector().err().unwrap().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
    }
}
