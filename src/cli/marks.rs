//! `callscope marks export|import`: share review marks (status, flags, notes, per-turn
//! ratings) between reviewers and machines as the store's versioned JSON file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::store::{Scope, Store, StoreError};

#[derive(Debug, Args)]
pub struct MarksArgs {
    #[command(subcommand)]
    pub command: MarksCommand,
}

#[derive(Debug, Subcommand)]
pub enum MarksCommand {
    /// Write every recorded mark (or one scope's) as JSON to stdout or --out.
    Export(ExportMarksArgs),
    /// Apply a marks file: each conversation in it gets the file's marks; others are untouched.
    /// A malformed file changes nothing.
    Import(ImportMarksArgs),
}

#[derive(Debug, Args)]
pub struct StoreArg {
    /// The local store [default: ~/.local/share/callscope/callscope.db; the demo's is demo.db beside it].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportMarksArgs {
    /// Write here (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    /// Only this account's marks.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Only this project's marks.
    #[arg(long, value_name = "ID")]
    pub project: Option<String>,
    /// Only this client_env's marks (live, sandbox, pre-release).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportMarksArgs {
    /// The marks file (from `callscope marks export`); `-` reads stdin.
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArg,
}

pub fn run(args: MarksArgs) -> Result<i32> {
    crate::logging::init_stderr();
    match args.command {
        MarksCommand::Export(a) => export(&a),
        MarksCommand::Import(a) => import(&a),
    }
}

fn store_path(a: &StoreArg) -> PathBuf {
    a.store.clone().unwrap_or_else(crate::store::default_path)
}

fn store_error(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Opens an existing store for reading: exporting from a mistyped path should say so, not
/// silently create an empty database, and a store the user may only read is fine.
fn open_existing(path: &Path) -> Result<Store> {
    if !path.exists() {
        bail!(
            "no local store at {}: review calls in the TUI first, or pass --store PATH",
            path.display()
        );
    }
    Store::open_read_only(path).map_err(store_error)
}

fn export(a: &ExportMarksArgs) -> Result<i32> {
    let path = store_path(&a.store);
    let store = open_existing(&path)?;
    let scope = Scope {
        account: a.account.clone(),
        project: a.project.clone(),
        environment: a.environment.clone(),
        ..Scope::default()
    };
    let scoped = scope != Scope::everything();
    let json = store.export_marks(scoped.then_some(&scope)).map_err(store_error)?;
    // Notes and comments may hold C1 or bidi controls: escaped, the same JSON value.
    let json = crate::sanitize::escape_json_controls(&json).into_owned();
    let n = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| v["conversations"].as_array().map(Vec::len))
        .unwrap_or(0);
    match &a.out {
        Some(out) => {
            crate::fsutil::remove_partials_on_signals();
            crate::fsutil::write_atomic(out, json.as_bytes())
                .with_context(|| format!("cannot write {}", out.display()))?;
            crate::errln!(
                "exported marks of {n} conversations from {} to {}",
                path.display(),
                out.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(json.as_bytes())
                .and_then(|_| stdout.write_all(b"\n"))
                .and_then(|_| stdout.flush())
                .context("cannot write to stdout")?;
            crate::errln!("exported marks of {n} conversations from {}", path.display());
        }
    }
    Ok(0)
}

fn import(a: &ImportMarksArgs) -> Result<i32> {
    let input: Box<dyn Read> = if a.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?)
    };
    let path = store_path(&a.store);
    // Importing is how a new machine gets its marks, so the store may not exist yet; if this
    // import made it and then refused the file, it goes again (a bad file creates nothing).
    let created = !path.exists();
    let imported = Store::open(&path).and_then(|mut store| store.import_marks_from(input));
    let done = match imported {
        Ok(done) => done,
        Err(e) => {
            if created {
                remove_store_files(&path);
            }
            return Err(store_error(e));
        }
    };
    crate::outln!(
        "imported marks of {} conversations into {}: {} reviewed, {} needing follow-up, {} flagged, {} with a note, {} turn ratings",
        done.conversations,
        path.display(),
        done.reviewed,
        done.follow_up,
        done.flagged,
        done.notes,
        done.turn_ratings
    );
    Ok(0)
}

/// A SQLite store and its WAL files.
fn remove_store_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}
