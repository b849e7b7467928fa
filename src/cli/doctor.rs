//! `callscope doctor`: its flags, as [`crate::doctor::DoctorOptions`].

use anyhow::Result;

use crate::config::ConnectionArgs;
use crate::doctor::DoctorOptions;

#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

pub async fn run(args: DoctorArgs) -> Result<i32> {
    crate::doctor::run(DoctorOptions { conn: args.conn }).await
}
