//! TLS to the team database against the real test server with `ssl = on` and a certificate made
//! with openssl in the test's directory, written into the server's data directory by the server
//! itself (so its owner suits the server whoever runs the tests), then `callscope doctor` through
//! each `sslmode`. Debian's clusters start with ssl on and a snakeoil certificate; the test
//! switches to its own with ALTER SYSTEM and resets that at the end.

use crate::support::team as team_support;

use std::path::Path;
use std::process::Command;

use team_support::{TestDb, runtime};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME.crt`, `NAME.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
        ],
    );
}

/// `server.crt`/`server.key` for the name `localhost` only, signed by the CA `ca`.
fn make_server_cert(dir: &Path) {
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

/// Runs statements as the server's superuser (over plain TCP), returning the first column of
/// the last statement's rows. Statements are split at `;`.
fn admin(server: &team_support::Server, sql: &str) -> Vec<String> {
    let section = callscope::team::TeamSection {
        database: Some(server.url("postgres")),
        ..Default::default()
    };
    runtime().block_on(async {
        let client = callscope::team::conn::connect(&section, &callscope::config::process_env)
            .await
            .expect("connect to the test server");
        let mut last = Vec::new();
        // One statement per query: ALTER SYSTEM refuses the implicit transaction of a batch.
        for stmt in sql.split(';').filter(|s| !s.trim().is_empty()) {
            last.clear();
            for msg in client.simple_query(stmt).await.expect(stmt) {
                if let tokio_postgres::SimpleQueryMessage::Row(r) = msg {
                    last.push(r.get(0).unwrap_or_default().to_string());
                }
            }
        }
        last
    })
}

/// Turns ssl off again at the end, pass or fail, so the other tests' server is as it was.
struct SslOn<'a>(&'a team_support::Server);

impl Drop for SslOn<'_> {
    fn drop(&mut self) {
        admin(
            self.0,
            "ALTER SYSTEM RESET ssl; ALTER SYSTEM RESET ssl_cert_file; ALTER SYSTEM RESET ssl_key_file; \
             SELECT pg_reload_conf()",
        );
    }
}

/// COPY writes one line per row, as the server's user; the server wants its key file 0600.
fn copy_into_server(server: &team_support::Server, pem: &Path, to: &str) {
    let text = std::fs::read_to_string(pem).unwrap();
    let lines: Vec<String> = text.lines().map(|l| format!("'{l}'")).collect();
    admin(
        server,
        &format!(
            "COPY (SELECT unnest(ARRAY[{}])) TO PROGRAM 'umask 077 && cat > {to}'",
            lines.join(",")
        ),
    );
}

#[test]
fn sslmodes_against_a_server_with_tls() {
    let Some(db) = TestDb::initialised("team_tls") else {
        return;
    };
    let server = &db.server;
    let dir = tempfile::tempdir().unwrap();
    make_ca(dir.path(), "ca");
    make_ca(dir.path(), "other");
    make_server_cert(dir.path());
    let data = admin(server, "SHOW data_directory").remove(0);
    let tag = std::process::id();
    let (crt, key) = (
        format!("{data}/callscope-test-{tag}.crt"),
        format!("{data}/callscope-test-{tag}.key"),
    );
    copy_into_server(server, &dir.path().join("server.crt"), &crt);
    copy_into_server(server, &dir.path().join("server.key"), &key);
    let _reset = SslOn(server);
    admin(
        server,
        &format!(
            "ALTER SYSTEM SET ssl_cert_file = '{crt}'; ALTER SYSTEM SET ssl_key_file = '{key}'; \
             ALTER SYSTEM SET ssl = on; SELECT pg_reload_conf()"
        ),
    );

    let config = dir.path().join("config.toml");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let doctor = |host: &str, query: &str| {
        let url = format!("postgres://{}@{host}:{}/{}?{query}", server.user, server.port, db.name);
        std::fs::write(&config, format!("[team]\ndatabase = \"{url}\"\n")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["doctor", "--config"])
            .arg(&config)
            // No ~/.postgresql/root.crt from the machine running the tests.
            .env("HOME", &home)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        stdout
            .lines()
            .chain(stderr.lines())
            .find(|l| l.contains("team database") || l.contains("[team]"))
            .unwrap_or_else(|| panic!("no team line in {stdout}{stderr}"))
            .to_string()
    };

    let ca = dir.path().join("ca.crt").display().to_string();
    let other = dir.path().join("other.crt").display().to_string();
    // The reload is asynchronous: wait until new connections get the test's certificate.
    let start = std::time::Instant::now();
    while !doctor("localhost", &format!("sslmode=verify-full&sslrootcert={ca}")).starts_with("ok")
        && start.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let line = doctor("localhost", "sslmode=require");
    assert!(
        line.contains("schema version") && line.contains("TLS TLSv1.") && line.contains("certificate not checked"),
        "{line}"
    );

    let line = doctor("localhost", &format!("sslmode=verify-full&sslrootcert={ca}"));
    assert!(
        line.starts_with("ok") && line.contains("TLS TLSv1.") && line.contains("host name checked against"),
        "{line}"
    );

    let line = doctor("localhost", &format!("sslmode=verify-full&sslrootcert={other}"));
    assert!(
        line.starts_with("FAIL") && line.contains("not signed by a CA in sslrootcert") && line.contains(&other),
        "{line}"
    );

    // The certificate names `localhost` only: verify-full refuses 127.0.0.1, verify-ca does not
    // look at the name.
    let line = doctor("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}"));
    assert!(
        line.starts_with("FAIL") && line.contains("not valid for the host name \"127.0.0.1\""),
        "{line}"
    );
    let line = doctor("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}"));
    assert!(line.starts_with("ok") && line.contains("certificate checked"), "{line}");

    // libpq's default root file: `require` then checks the chain too.
    std::fs::create_dir(home.join(".postgresql")).unwrap();
    std::fs::copy(dir.path().join("other.crt"), home.join(".postgresql/root.crt")).unwrap();
    let line = doctor("localhost", "sslmode=require");
    assert!(
        line.starts_with("FAIL") && line.contains("not signed by a CA"),
        "{line}"
    );

    let line = doctor("localhost", "sslmode=disable");
    assert!(
        line.starts_with("ok") && line.contains("no TLS (sslmode=disable)"),
        "{line}"
    );

    // A mode that needs a CA and names none says where to put one.
    std::fs::remove_file(home.join(".postgresql/root.crt")).unwrap();
    let line = doctor("localhost", "sslmode=verify-full");
    assert!(line.contains("sslrootcert=/path/to/root.crt"), "{line}");
}

#[test]
fn require_against_a_server_without_tls_says_so() {
    // A port where a plain-text "server" answers the TLS request with 'N', as PostgreSQL with
    // ssl off does (the shared test server's ssl setting belongs to the other test).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut req = [0u8; 8];
            if s.read_exact(&mut req).is_ok() {
                let _ = s.write_all(b"N");
                // Then the startup message, which this stand-in does not answer.
                let _ = s.read(&mut [0u8; 512]);
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[team]\ndatabase = \"postgres://u@127.0.0.1:{port}/d?sslmode=require\"\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["team", "init", "--config"])
        .arg(&config)
        .env("PGPASSWORD", "x")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not offer TLS") && err.contains("sslmode=require") && err.contains("postgresql.conf"),
        "{err}"
    );
}
