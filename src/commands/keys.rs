//! `cookie-lab keys list|rotate|generate`.

use crate::cli::{KeysAction, KeysArgs};
use crate::keys::{self, KeyRing, RingKey};

pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    let path = keys::key_file_path(&args.data_dir);
    match args.action {
        KeysAction::Generate => {
            println!("{}", RingKey::generate()?.secret_base64());
        }
        KeysAction::List => {
            print_ring(&keys::read_file(&path)?);
        }
        KeysAction::Rotate { drop_old } => {
            let (mut ring, _) = keys::load_or_create(&args.data_dir, None)?;
            let new = ring.rotate()?.id();
            let dropped = if drop_old { ring.drop_old() } else { 0 };
            keys::write_file(&path, &ring)?;
            println!("new key {new} seals login cookies from the next start of the server");
            if dropped > 0 {
                println!(
                    "dropped {dropped} older key(s): login cookies they sealed no longer work"
                );
            }
            print_ring(&ring);
        }
        KeysAction::DropOld => {
            let mut ring = keys::read_file(&path)?;
            let dropped = ring.drop_old();
            keys::write_file(&path, &ring)?;
            println!(
                "dropped {dropped} older key(s): from the next start, login cookies they sealed no longer work"
            );
            print_ring(&ring);
        }
    }
    Ok(())
}

fn print_ring(ring: &KeyRing) {
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
