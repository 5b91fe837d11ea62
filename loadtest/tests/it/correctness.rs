//! Every answer is checked: the mix arrives in proportion against a verifying gateway with
//! zero wrong answers, and a gateway that forgets revocations is caught (exit 1).

use loadtest::mix::Kind;

use crate::support::{self, API_KEY, Config, Role, SECRET, Server};

#[test]
fn mix_proportions_hold_and_a_correct_gateway_gets_no_wrong_answer() {
    let server = Server::start(Config {
        role: Role::Gateway { honour: u64::MAX },
        ..Config::default()
    });
    let url = server.url("/api");
    let revoke = server.url("");
    let summary = support::run(&[
        "--cores",
        "2",
        "-c",
        "4",
        "-n",
        "2000",
        "-d",
        "20s",
        "--tokens",
        "50",
        "--jwt-key",
        SECRET,
        "--jti-prefix",
        "mix",
        "--mix",
        "valid=70,revoked=10,expired=10,badsig=5,none=5",
        "--revoke-url",
        &revoke,
        "--api-key",
        API_KEY,
        &url,
    ])
    .unwrap();
    assert_eq!(summary.responses, 2000);
    assert_eq!(summary.wrong(), 0, "{:?}", summary.kinds);
    for (kind, share) in [
        (Kind::Valid, 0.70),
        (Kind::Revoked, 0.10),
        (Kind::Expired, 0.10),
        (Kind::BadSig, 0.05),
        (Kind::None, 0.05),
    ] {
        let got = summary.kinds[kind.index()].responses as f64 / 2000.0;
        assert!((got - share).abs() < 0.01, "{kind}: {got} vs {share}");
    }
    let valid = &summary.kinds[Kind::Valid.index()];
    assert_eq!(valid.statuses.len(), 1);
    assert_eq!(valid.statuses[0].0, 200);
    for kind in [Kind::Revoked, Kind::Expired, Kind::BadSig, Kind::None] {
        assert_eq!(summary.kinds[kind.index()].statuses[0].0, 401, "{kind}");
    }
}

#[test]
fn a_gateway_that_forgets_revocations_fails_the_run() {
    // Revocations are honoured during the pre-run poll, then forgotten: revoked tokens get 200.
    let server = Server::start(Config {
        role: Role::Gateway { honour: 20 },
        ..Config::default()
    });
    let (code, stdout, stderr) = support::binary(&[
        "-c",
        "2",
        "-n",
        "400",
        "--tokens",
        "20",
        "--jwt-key",
        SECRET,
        "--mix",
        "valid=3,revoked=1",
        "--revoke-url",
        &server.url("/"),
        "--api-key",
        API_KEY,
        &server.url("/api"),
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    let revoked_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("revoked"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(revoked_line.contains("expected 401"), "{revoked_line}");
    assert!(!revoked_line.contains(" 0 wrong"), "{revoked_line}");
    assert!(revoked_line.contains("200×"), "{revoked_line}");
    let valid_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("valid"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(valid_line.contains(" 0 wrong"), "{valid_line}");
}

#[test]
fn a_plain_server_fails_a_gateway_expectation() {
    // Tokens the target does not check: every non-valid kind gets 200 instead of 401.
    let server = Server::start(Config::default());
    let summary = support::run(&[
        "-c",
        "2",
        "-n",
        "100",
        "--tokens",
        "10",
        "--jwt-key",
        SECRET,
        "--mix",
        "valid=1,expired=1",
        &server.url("/"),
    ])
    .unwrap();
    assert!(summary.failed());
    assert_eq!(summary.kinds[Kind::Valid.index()].wrong, 0);
    assert_eq!(summary.kinds[Kind::Expired.index()].wrong, 50);
}
