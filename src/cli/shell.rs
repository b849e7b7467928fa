//! `callscope completions SHELL` and `callscope man [COMMAND…]`: generated from the clap
//! definition itself, so they always list the real commands and options.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::CommandFactory;

use super::Cli;

#[derive(Debug, clap::Args)]
#[command(after_help = "Install, e.g.:\n  \
bash: callscope completions bash > ~/.local/share/bash-completion/completions/callscope\n  \
zsh:  callscope completions zsh > ~/.zfunc/_callscope   (with fpath+=(~/.zfunc) before compinit)\n  \
fish: callscope completions fish > ~/.config/fish/completions/callscope.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Read it with `callscope man | man -l -`, or install it: \
`callscope man > ~/.local/share/man/man1/callscope.1` (and `callscope man export > …/callscope-export.1`).")]
pub struct ManArgs {
    /// A command's own page, e.g. `export` or `webhooks register` [default: the main page].
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn completions(a: &CompletionsArgs) -> Result<i32> {
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut Cli::command(), "callscope", &mut out);
    write_stdout(&out)
}

/// The page (roff) of `callscope` or of one of its commands, on stdout.
pub fn man(a: &ManArgs) -> Result<i32> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut page = cmd;
    let mut name = String::from("callscope");
    for word in &a.command {
        let Some(sub) = page.find_subcommand(word).cloned() else {
            let known: Vec<_> = page
                .get_subcommands()
                .map(|s| s.get_name().to_string())
                .filter(|n| n != "help")
                .collect();
            bail!("no command `{name} {word}`; commands: {}", known.join(", "));
        };
        // Built, the command carries its page name (`callscope-export`) and usage (`callscope export`).
        name = format!("{name} {}", sub.get_name());
        page = sub;
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("callscope {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .context("cannot render the man page")?;
    write_stdout(&out)
}

/// Generated text goes to stdout as is (it is ours, not the network's); a closed pipe is fine.
fn write_stdout(bytes: &[u8]) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}
