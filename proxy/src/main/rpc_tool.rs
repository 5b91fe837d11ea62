//! `bloomgate rpc`: an operator's client for a gateway's RPC port (and the tests'): revoke keys,
//! check them, revoke a file of keys in bounded batches, show the filter's status.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use admin::rpc::client::{Client, ClientConfig};
use proxy::cli::{RpcAction, RpcArgs};

/// Keys sent per call when revoking a file: bounds memory for any file size.
const BATCH: usize = 100_000;

/// Runs the command; prints results on stdout, one error line on stderr.
pub fn run(args: RpcArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bloomgate: rpc: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(args: RpcArgs) -> Result<(), String> {
    let addr: SocketAddr = args
        .to
        .to_socket_addrs()
        .map_err(|e| format!("--to {}: {e}", args.to))?
        .next()
        .ok_or_else(|| format!("--to {}: no address", args.to))?;
    let api_key = args
        .api_key
        .or_else(|| std::env::var("BLOOMGATE_API_KEY").ok());
    let mut client = Client::connect(ClientConfig {
        addr,
        api_key: api_key.map(String::into_bytes),
        timeout: Duration::from_secs(10),
        retries: 2,
    })
    .map_err(|e| e.to_string())?;
    match args.action {
        RpcAction::Add(keys) => {
            let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
            let added = client.add(&refs).map_err(|e| e.to_string())?;
            println!("added {} keys ({} new)", added.count, added.new);
        }
        RpcAction::Check(keys) => {
            let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
            let hits = client.check(&refs).map_err(|e| e.to_string())?;
            for (key, hit) in keys.iter().zip(hits) {
                println!("{key}\t{}", if hit { "revoked" } else { "not revoked" });
            }
        }
        RpcAction::AddBatch(path) => {
            let file =
                std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut lines = BufReader::new(file).lines();
            let (mut count, mut new) = (0u64, 0u64);
            loop {
                let mut batch = Vec::with_capacity(BATCH);
                for line in lines.by_ref() {
                    let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
                    let key = line.trim_end_matches('\r');
                    if !key.trim().is_empty() {
                        batch.push(key.to_owned());
                    }
                    if batch.len() == BATCH {
                        break;
                    }
                }
                if batch.is_empty() {
                    break;
                }
                let refs: Vec<&[u8]> = batch.iter().map(|k| k.as_bytes()).collect();
                let added = client.add(&refs).map_err(|e| e.to_string())?;
                count += added.count;
                new += added.new;
            }
            println!("added {count} keys ({new} new)");
        }
        RpcAction::Status => {
            let s = client.status().map_err(|e| e.to_string())?;
            println!(
                "N={} P={} TTL={}s seed={:#x} placement={} block_bits={} k={}\nepochs newest {} older {}\ninserted {} / {}\nfill {:.6} / {:.6}\npercentage_consumed {:.3}",
                s.n,
                s.p,
                s.ttl,
                s.seed,
                bloom::Placement::from_code(s.placement)
                    .map_or_else(|| format!("unknown ({})", s.placement), |p| p.to_string()),
                s.block_bits,
                s.k,
                s.epochs[0],
                s.epochs[1],
                s.inserted[0],
                s.inserted[1],
                s.fill[0],
                s.fill[1],
                s.percentage_consumed
            );
        }
    }
    Ok(())
}
