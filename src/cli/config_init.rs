//! `callscope config init`: writes the documented example config (every key, commented) to the
//! config path, never over an existing file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Write the documented example config (every key, commented out) to the config path;
    /// an existing file is never overwritten.
    Init(InitArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write it [default: ~/.config/callscope/config.toml].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

pub fn run(args: &ConfigArgs) -> Result<i32> {
    match &args.command {
        ConfigCommand::Init(a) => init(a),
    }
}

fn init(a: &InitArgs) -> Result<i32> {
    let path = match a.config.clone().or_else(crate::config::default_config_path) {
        Some(p) => p,
        None => bail!("no config directory is known for this user: pass --config PATH"),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // create_new: the existence check and the creation are one step, so nothing is ever overwritten.
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{p} already exists; config init never overwrites a config file.\n  \
             Keep it, or move it aside and run config init again: mv {p} {p}.old && callscope config init\n  \
             (or write the example elsewhere: callscope config init --config /tmp/callscope-example.toml)",
            p = path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    if let Err(e) = file
        .write_all(crate::config::EXAMPLE.as_bytes())
        .and_then(|_| file.sync_all())
    {
        // A half-written example would be refused by the next config init: leave nothing.
        let _ = std::fs::remove_file(&path);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    crate::outln!("wrote the example config to {}", path.display());
    crate::outln!("  every key is commented out: uncomment what you need (`callscope doctor` checks it)");
    Ok(0)
}
