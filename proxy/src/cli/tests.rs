use std::ffi::OsString;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use super::{
    CheckArgs, Command, DemoArgs, RevokerArgs, RpcAction, RpcArgs, RunArgs, UsageError, parse,
};

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

fn ok(line: &str) -> Command {
    parse(args(line)).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn err(line: &str) -> String {
    match parse(args(line)) {
        Ok(c) => panic!("{line}: expected an error, got {c:?}"),
        Err(UsageError(message)) => message,
    }
}

#[test]
fn run_with_every_option() {
    assert_eq!(
        ok("run -c k.json --port 9000 --rpc-port 1234 --cores 3 --skip-unsupported"),
        Command::Run(RunArgs {
            config: PathBuf::from("k.json"),
            port: Some(9000),
            rpc_port: Some(1234),
            cores: NonZeroUsize::new(3),
            skip_unsupported: true,
        })
    );
    assert_eq!(
        ok("run --config=k.json --port=0"),
        Command::Run(RunArgs {
            config: "k.json".into(),
            port: Some(0),
            rpc_port: None,
            cores: None,
            skip_unsupported: false
        })
    );
}

#[test]
fn the_other_commands() {
    assert_eq!(
        ok("revoker --port 8081 --config r.json"),
        Command::Revoker(RevokerArgs {
            config: "r.json".into(),
            port: Some(8081),
            skip_unsupported: false
        })
    );
    assert_eq!(
        ok("check -c k.json"),
        Command::Check(CheckArgs {
            config: "k.json".into(),
            skip_unsupported: false
        })
    );
    assert_eq!(
        ok("check --skip-unsupported -c k.json"),
        Command::Check(CheckArgs {
            config: "k.json".into(),
            skip_unsupported: true
        })
    );
    assert_eq!(ok("demo"), Command::Demo(DemoArgs { port: None }));
    assert_eq!(
        ok("demo --port 8000"),
        Command::Demo(DemoArgs { port: Some(8000) })
    );
}

#[test]
fn help_and_version() {
    for line in [
        "--help",
        "-h",
        "help",
        "check --help",
        "run -c x -h",
        "bogus --help",
    ] {
        assert_eq!(ok(line), Command::Help, "{line}");
    }
    for line in ["--version", "-V", "version"] {
        assert_eq!(ok(line), Command::Version, "{line}");
    }
}

#[test]
fn usage_errors() {
    let cases = [
        ("", "missing command"),
        ("serve", "unknown command \"serve\""),
        ("check", "`check` needs -c CONFIG"),
        ("run --port 1", "`run` needs -c CONFIG"),
        ("check -c", "-c/--config needs a value"),
        ("check -c k --port 1", "`check` does not take \"--port\""),
        ("demo -c k", "`demo` does not take \"-c\""),
        (
            "revoker -c k --rpc-port 1",
            "`revoker` does not take \"--rpc-port\"",
        ),
        (
            "run -c k --cores 0",
            "--cores must be a whole number >= 1, got \"0\"",
        ),
        (
            "run -c k --cores -1",
            "--cores must be a whole number >= 1, got \"-1\"",
        ),
        (
            "run -c k --port 65536",
            "--port must be a port number (0-65535), got \"65536\"",
        ),
        (
            "run -c k --port +80",
            "--port must be a port number (0-65535), got \"+80\"",
        ),
        (
            "run -c k --rpc-port x",
            "--rpc-port must be a port number (0-65535), got \"x\"",
        ),
        ("run -c a -c b", "-c/--config given twice"),
        ("run -c a --port 1 --port=2", "--port given twice"),
        (
            "check -c a --skip-unsupported --skip-unsupported",
            "--skip-unsupported given twice",
        ),
        (
            "check -c a --skip-unsupported=yes",
            "--skip-unsupported takes no value",
        ),
        ("check -c a extra", "unexpected argument \"extra\""),
        ("check --config=", "-c/--config needs a file name"),
        ("check -ck.json", "`check` does not take \"-ck.json\""),
        ("version 2", "`version` takes no arguments"),
    ];
    for (line, want) in cases {
        assert_eq!(err(line), want, "{line:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_config_path_need_not_be_utf8() {
    use std::os::unix::ffi::OsStringExt;
    let path = OsString::from_vec(b"k\xff.json".to_vec());
    let command = parse([OsString::from("check"), OsString::from("-c"), path.clone()]).unwrap();
    assert_eq!(
        command,
        Command::Check(CheckArgs {
            config: PathBuf::from(path),
            skip_unsupported: false
        })
    );
    let flag = OsString::from_vec(b"--p\xffrt".to_vec());
    assert!(parse([OsString::from("check"), flag]).is_err());
}

#[test]
fn the_usage_text_lists_every_command() {
    for command in [
        "bloomgate run",
        "bloomgate revoker",
        "bloomgate check",
        "bloomgate demo",
        "--skip-unsupported",
    ] {
        assert!(super::USAGE.contains(command), "{command}");
    }
}

#[test]
fn rpc_actions() {
    let parsed = parse([
        "rpc",
        "--to",
        "127.0.0.1:1234",
        "--api-key=k",
        "add",
        "jti-1",
        "sub-2",
    ])
    .unwrap();
    assert_eq!(
        parsed,
        Command::Rpc(RpcArgs {
            to: "127.0.0.1:1234".into(),
            api_key: Some("k".into()),
            action: RpcAction::Add(vec!["jti-1".into(), "sub-2".into()]),
        })
    );
    assert!(matches!(
        parse(["rpc", "--to", "h:1", "check", "jti-1"]),
        Ok(Command::Rpc(RpcArgs {
            action: RpcAction::Check(_),
            api_key: None,
            ..
        }))
    ));
    assert!(matches!(
        parse(["rpc", "--to", "h:1", "add-batch", "keys.txt"]),
        Ok(Command::Rpc(RpcArgs {
            action: RpcAction::AddBatch(_),
            ..
        }))
    ));
    assert!(matches!(
        parse(["rpc", "--to", "h:1", "status"]),
        Ok(Command::Rpc(RpcArgs {
            action: RpcAction::Status,
            ..
        }))
    ));
    for bad in [
        &["rpc", "add", "jti-1"][..],
        &["rpc", "--to", "h:1"],
        &["rpc", "--to", "h:1", "add"],
        &["rpc", "--to", "h:1", "status", "x"],
        &["rpc", "--to", "h:1", "frobnicate"],
        &["rpc", "--to", "h:1", "--to", "h:2", "status"],
        &["rpc", "--nope", "status"],
    ] {
        assert!(parse(bad.iter().copied()).is_err(), "{bad:?}");
    }
}
