//! `emulator [--port N] [--sample-org] [--large-org N] [--seed S] [--latency-ms MS]`
//!
//! Starts the emulator (GuardDuty, Organizations, AWS Account ListRegions,
//! STS) on `127.0.0.1:N` (0 = any port), prints `listening
//! http://127.0.0.1:PORT` on stdout and serves until SIGINT / SIGTERM. Every
//! service and Region is served on that one port (point `AWS_ENDPOINT_URL`,
//! or each `AWS_ENDPOINT_URL_<SERVICE>`, at it). Regions, member accounts,
//! roles and invitations are seeded through the `/_emulator/` control plane
//! (see the library docs); `--sample-org` seeds them too.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use emulator::Emulator;

struct Args {
    port: u16,
    sample_org: bool,
    large_org: Option<usize>,
    seed: u64,
    latency_ms: Option<u64>,
}

const USAGE: &str =
    "usage: emulator [--port N] [--sample-org] [--large-org N] [--seed S] [--latency-ms MS]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        sample_org: false,
        large_org: None,
        seed: 42,
        latency_ms: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--port" => {
                args.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--sample-org" => args.sample_org = true,
            "--large-org" => {
                args.large_org = Some(
                    value("--large-org")?
                        .parse()
                        .map_err(|e| format!("--large-org: {e}"))?,
                )
            }
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--latency-ms" => {
                args.latency_ms = Some(
                    value("--latency-ms")?
                        .parse()
                        .map_err(|e| format!("--latency-ms: {e}"))?,
                )
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let emu = match Emulator::start_on(SocketAddr::from(([127, 0, 0, 1], args.port))).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("emulator: cannot bind 127.0.0.1:{}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    if args.sample_org {
        emu.sample_organization();
    }
    if let Some(n) = args.large_org {
        emu.large_organization(n, args.seed);
    }
    if let Some(ms) = args.latency_ms {
        emu.set_default_latency(Duration::from_millis(ms));
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening {}", emu.endpoint());
        let _ = out.flush();
    }
    wait_for_signal().await;
    emu.stop().await;
    ExitCode::SUCCESS
}
