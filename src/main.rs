use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use cookie_lab::cli::{Cli, Command, ServeArgs};
use cookie_lab::commands;
use cookie_lab::config::Config;
use cookie_lab::startup::{Application, shutdown_signal};
use cookie_lab::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Keys(args)) => commands::keys::run(args).map(|()| ExitCode::SUCCESS),
        Some(Command::Lint(args)) => {
            commands::lint::run(args).map(|outcome| ExitCode::from(outcome.exit_code()))
        }
        Some(Command::Serve(args)) => serve(*args).map(|()| ExitCode::SUCCESS),
        None => serve(cli.serve).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|err| {
        eprintln!("cookie-lab: {err:#}");
        ExitCode::FAILURE
    })
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args)?;
    // Held to the end of serve, so every line is written before exit.
    let _log = telemetry::init(config.log_format);
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async {
        let app = Application::build(config).await?;
        app.run_until_stopped(shutdown_signal()).await?;
        Ok(())
    })
}
