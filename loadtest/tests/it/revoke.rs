//! The revocation step: every revoked token's jti reaches the Revoke Server (one POST each, or
//! batched), with the API key; the target is polled until it shows them, or the run fails.

use std::collections::HashSet;

use loadtest::revoke::RevokeError;
use loadtest::run::RunError;

use crate::support::{self, API_KEY, Config, Role, SECRET, Server};

fn expected_jtis(prefix: &str, cores: usize, per_core: usize) -> HashSet<String> {
    // Only revoked tokens in the mix: counters 0.. on each core.
    (0..cores)
        .flat_map(|c| (0..per_core).map(move |i| format!("{prefix}-{c}-{i}")))
        .collect()
}

#[test]
fn each_revoked_jti_is_posted_once_with_the_api_key() {
    let revoker = Server::start(Config::default());
    let gateway = Server::start(Config {
        role: Role::Gateway { honour: u64::MAX },
        ..Config::default()
    });
    // The revoker is a separate server that only records: the gateway never learns the
    // revocations, so the wait is skipped and revoked tokens are expected to pass.
    let summary = support::run(&[
        "--cores",
        "2",
        "-c",
        "2",
        "-n",
        "50",
        "--tokens",
        "25",
        "--jwt-key",
        SECRET,
        "--jti-prefix",
        "rv",
        "--mix",
        "revoked=1",
        "--revoke-url",
        &revoker.url("/"),
        "--api-key",
        API_KEY,
        "--revoke-parallel",
        "3",
        "--revoke-wait",
        "0s",
        "--expect",
        "revoked=200",
        &gateway.url("/"),
    ])
    .unwrap();
    assert_eq!(summary.responses, 50);
    let posts = revoker.state.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 50);
    let mut seen = HashSet::new();
    for post in &posts {
        assert_eq!(post.auth, format!("bearer {API_KEY}"));
        let jti = post.path.strip_prefix("/tokens/jti/").unwrap();
        assert!(seen.insert(jti.to_owned()), "posted twice: {jti}");
    }
    assert_eq!(seen, expected_jtis("rv", 2, 25));
}

#[test]
fn batch_mode_sends_one_post_with_a_line_per_jti_and_waits_for_the_target() {
    let server = Server::start(Config {
        role: Role::Gateway { honour: u64::MAX },
        ..Config::default()
    });
    let summary = support::run(&[
        "-c",
        "2",
        "-n",
        "100",
        "--tokens",
        "30",
        "--jwt-key",
        SECRET,
        "--jti-prefix",
        "bt",
        "--mix",
        "valid=1,revoked=1",
        "--revoke-url",
        &server.url("/"),
        "--api-key",
        API_KEY,
        "--revoke-batch",
        &server.url("/api"),
    ])
    .unwrap();
    let posts = server.state.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/tokens/jti");
    let lines: HashSet<String> = posts[0].body.lines().map(str::to_owned).collect();
    // Valid tokens took counters 0..30, revoked 30..60.
    let expected: HashSet<String> = (30..60).map(|i| format!("bt-0-{i}")).collect();
    assert_eq!(lines, expected);
    assert_eq!(summary.wrong(), 0);
    assert_eq!(summary.responses, 100);
}

#[test]
fn a_wrong_api_key_stops_before_the_run() {
    let server = Server::start(Config::default());
    let err = support::run(&[
        "-n",
        "10",
        "--jwt-key",
        SECRET,
        "--mix",
        "revoked=1",
        "--tokens",
        "5",
        "--revoke-url",
        &server.url("/"),
        "--api-key",
        "wrong",
        &server.url("/"),
    ])
    .unwrap_err();
    assert!(
        matches!(
            err,
            RunError::Revoke(RevokeError::Status { status: 401, .. })
        ),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("--api-key"), "{err}");
}

#[test]
fn revocations_never_visible_fail_clearly_within_the_wait() {
    let server = Server::start(Config {
        role: Role::Gateway { honour: 0 },
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let err = support::run(&[
        "-n",
        "10",
        "--jwt-key",
        SECRET,
        "--mix",
        "revoked=1",
        "--tokens",
        "5",
        "--revoke-url",
        &server.url("/"),
        "--api-key",
        API_KEY,
        "--revoke-wait",
        "300ms",
        &server.url("/"),
    ])
    .unwrap_err();
    assert!(started.elapsed().as_secs() < 5);
    assert!(
        matches!(
            err,
            RunError::Revoke(RevokeError::NotVisible {
                last_status: 200,
                expected: 401,
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("--revoke-wait"), "{err}");
}
