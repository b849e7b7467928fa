//! `callscope team init`: create or migrate the team database's schema.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::config::process_env;
use crate::team::{Team, schema};

#[derive(Debug, Args)]
pub struct TeamArgs {
    #[command(subcommand)]
    pub command: TeamCommand,
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create the schema in the `[team] database`, or migrate it to this version (safe to repeat).
    Init(ConfigArg),
}

/// The config file that holds `[team]`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArg {
    /// Config file [default: ~/.config/callscope/config.toml].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

impl TeamArgs {
    pub fn config(&self) -> Option<PathBuf> {
        match &self.command {
            TeamCommand::Init(a) => a.config.clone(),
        }
    }
}

/// The config's `[team]` section, or an error saying how to set one.
pub fn section(config: Option<&std::path::Path>) -> Result<crate::config::FileConfig> {
    let file = crate::settings::load_file(config)?;
    if file.team.database.is_none() {
        anyhow::bail!(
            "no team database configured: add to the config file\n  [team]\n  database = \"postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=CA.crt\"\n\
             (the password comes from PGPASSWORD, ~/.pgpass or [team] password_file)"
        );
    }
    Ok(file)
}

pub async fn run(args: TeamArgs) -> Result<i32> {
    match args.command {
        TeamCommand::Init(a) => {
            let file = section(a.config.as_deref())?;
            let mut team = Team::connect_unchecked(&file.team, &process_env).await?;
            let (outcome, version) = team.init().await?;
            match outcome {
                schema::InitOutcome::Created => crate::outln!("team database: schema version {version} created"),
                schema::InitOutcome::Migrated { from } => {
                    crate::outln!("team database: schema migrated from version {from} to {version}")
                }
                schema::InitOutcome::Current => crate::outln!("team database: schema version {version} is current"),
            }
            Ok(0)
        }
    }
}
