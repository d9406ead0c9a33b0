use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use cookie_lab::cli::{Cli, Command, KeysAction, KeysArgs};
use cookie_lab::config::Config;
use cookie_lab::startup::{Application, shutdown_signal};
use cookie_lab::{keys, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Keys(args)) => run_keys(args),
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cookie-lab: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: cookie_lab::cli::ServeArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args)?;
    telemetry::init(config.log_format);
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async {
        let app = Application::build(config).await?;
        app.run_until_stopped(shutdown_signal()).await?;
        Ok(())
    })
}

fn run_keys(args: KeysArgs) -> anyhow::Result<()> {
    let path = keys::key_file_path(&args.data_dir);
    match args.action {
        KeysAction::Generate => {
            println!("{}", keys::RingKey::generate()?.secret_base64());
        }
        KeysAction::List => {
            let ring = keys::read_file(&path)?;
            print_ring(&ring);
        }
        KeysAction::Rotate { drop_old } => {
            let (mut ring, _) = keys::load_or_create(&args.data_dir, None)?;
            let new = ring.rotate()?.id();
            let dropped = if drop_old { ring.drop_old() } else { 0 };
            keys::write_file(&path, &ring)?;
            println!("new key {new} seals login cookies from the next start of the server");
            if dropped > 0 {
                println!("dropped {dropped} older key(s): cookies they sealed no longer work");
            }
            print_ring(&ring);
        }
    }
    Ok(())
}

fn print_ring(ring: &keys::KeyRing) {
    let now = time::OffsetDateTime::now_utc();
    for (i, key) in ring.keys().iter().enumerate() {
        let age = key.created().map_or_else(
            || "age unknown".to_owned(),
            |created| {
                let secs = (now - created).whole_seconds().max(0).unsigned_abs();
                format!(
                    "created {} ago",
                    humantime::format_duration(std::time::Duration::from_secs(secs))
                )
            },
        );
        let role = if i == 0 {
            "seals and opens"
        } else {
            "opens only"
        };
        println!("{}  {role:<15}  {age}", key.id());
    }
}
