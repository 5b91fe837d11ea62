use super::*;

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

fn run(line: &str) -> Options {
    match parse(args(line)) {
        Ok(Command::Run(o)) => *o,
        other => panic!("{line}: {other:?}"),
    }
}

fn fails(line: &str) -> String {
    match parse(args(line)) {
        Err(CliError(message)) => message,
        other => panic!("{line}: expected an error, got {other:?}"),
    }
}

#[test]
fn go_durations() {
    assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
    assert_eq!(parse_duration("250us"), Some(Duration::from_micros(250)));
    assert_eq!(parse_duration("250µs"), Some(Duration::from_micros(250)));
    assert_eq!(parse_duration("0"), Some(Duration::ZERO));
    for bad in ["", "10", "s", "1x", "-1s", "1..2s", "."] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn cpu_lists() {
    assert_eq!(parse_cpus("0,1"), Some(vec![0, 1]));
    assert_eq!(parse_cpus("2-4,7"), Some(vec![2, 3, 4, 7]));
    assert_eq!(parse_cpus("1,1"), None);
    assert_eq!(parse_cpus("3-1"), None);
    assert_eq!(parse_cpus("a"), None);
    assert_eq!(parse_cpus(""), None);
}

#[test]
fn defaults_for_a_plain_run() {
    let o = run("http://127.0.0.1:8080/");
    assert_eq!(o.connections, 16);
    assert_eq!(o.cpus, CpuChoice::Count(1));
    assert_eq!(o.duration, Some(Duration::from_secs(10)));
    assert_eq!(o.timeout, Duration::from_secs(5));
    assert_eq!(o.pipeline, 1);
    assert_eq!(o.rate, None);
    assert_eq!(o.mix, Mix::only(Kind::None));
    assert_eq!(
        o.expect.status(Kind::None),
        200,
        "no key: plain load expects 200"
    );
    assert_eq!(o.token_header.name, "Authorization");
    assert_eq!(o.token_header.value, "Bearer {token}");
    assert!(o.jwt.is_none());
}

#[test]
fn a_full_gateway_run() {
    let o = run(
        "--cpus 0,1 -c 64 --rate=20000 -d 30s --warmup 5s --pipeline 2 --timeout 2s \
         --jwt-key s3cret --jwt-alg HS384 --jwt-kid k1 --tokens 500 \
         --mix valid=90,revoked=5,expired=3,badsig=2 --expect-valid 204 \
         --revoke-url http://127.0.0.1:8090 --api-key K --revoke-batch --revoke-wait 3s \
         -H X-Test:1 --json out.json --svg out.svg --label gw http://127.0.0.1:8080/api",
    );
    assert_eq!(o.cpus, CpuChoice::List(vec![0, 1]));
    assert_eq!(o.connections, 64);
    assert_eq!(o.rate, Some(20000.0));
    assert_eq!(o.warmup, Duration::from_secs(5));
    let jwt = o.jwt.unwrap();
    assert_eq!((jwt.key.as_str(), jwt.alg), ("s3cret", Some(Alg::HS384)));
    assert_eq!(jwt.kid.as_deref(), Some("k1"));
    assert_eq!(o.expect.status(Kind::Valid), 204);
    assert_eq!(o.expect.status(Kind::Revoked), 401);
    assert_eq!(o.expect.status(Kind::None), 401);
    let revoke = o.revoke.unwrap();
    assert!(revoke.batch);
    assert_eq!(revoke.wait, Duration::from_secs(3));
    assert_eq!(revoke.url.port, 8090);
    assert_eq!(o.headers.len(), 1);
    assert_eq!(o.label.as_deref(), Some("gw"));
}

#[test]
fn token_header_can_be_replaced() {
    let mut a = args("--jwt-key k http://h/");
    a.splice(
        0..0,
        ["-H".to_owned(), "Cookie: access_token={token}".to_owned()],
    );
    let Ok(Command::Run(o)) = parse(a) else {
        panic!()
    };
    assert_eq!(o.token_header.name, "Cookie");
    assert!(o.headers.is_empty());
}

#[test]
fn requests_without_duration_means_no_time_limit() {
    let o = run("-n 1000 http://h/");
    assert_eq!(o.requests, Some(1000));
    assert_eq!(o.duration, None);
    let o = run("-n 1000 -d 1s http://h/");
    assert_eq!(o.duration, Some(Duration::from_secs(1)));
}

#[test]
fn errors_name_the_flag() {
    assert!(fails("").contains("no URL"));
    assert!(fails("-c 0 http://h/").contains("--connections"));
    assert!(fails("-d 10 http://h/").contains("--duration"));
    assert!(fails("--rate -5 http://h/").contains("--rate"));
    assert!(fails("--bogus http://h/").contains("--bogus"));
    assert!(fails("--mix valid=1 http://h/").contains("--jwt-key"));
    assert!(fails("--jwt-key k --mix revoked=1 http://h/").contains("--revoke-url"));
    assert!(fails("--revoke-url http://r/ http://h/").contains("--api-key"));
    assert!(fails("--jwt-alg XX1 http://h/").contains("--jwt-alg"));
    assert!(fails("--cpus 0,1 --cores 3 http://h/").contains("disagree"));
    assert!(fails("--cores 4 -c 2 http://h/").contains("fewer"));
    assert!(fails("--expect bogus=2 http://h/").contains("--expect"));
    assert!(fails("--expect valid=99 --jwt-key k http://h/").contains("--expect"));
    assert!(fails("https://h/").contains("http://"));
    assert!(fails("http://a/ http://b/").contains("more than one URL"));
    assert!(fails("-c").contains("needs a value"));
}

#[test]
fn plot_subcommand() {
    let Ok(Command::Plot(p)) = parse(args("plot a.json b.json --svg out.svg --raw")) else {
        panic!()
    };
    assert_eq!(
        p.inputs,
        vec![PathBuf::from("a.json"), PathBuf::from("b.json")]
    );
    assert_eq!(p.svg, PathBuf::from("out.svg"));
    assert!(p.raw);
    assert!(parse(args("plot a.json")).is_err());
    assert!(parse(args("plot --svg x.svg")).is_err());
}

#[test]
fn help_and_version() {
    assert_eq!(parse(args("--help")), Ok(Command::Help));
    assert_eq!(parse(args("-V")), Ok(Command::Version));
    assert!(USAGE.contains("--revoke-wait"));
}
