//! Command-line usage: help, version, and usage errors (exit 2).

use crate::support::bloomgate;

#[test]
fn help_prints_the_usage_and_succeeds() {
    for flag in ["--help", "-h"] {
        let out = bloomgate(&[flag], &[]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.starts_with("usage:\n"), "{out:?}");
        assert!(
            out.stdout
                .contains("bloomgate check   -c CONFIG [--skip-unsupported]"),
            "{out:?}"
        );
    }
}

#[test]
fn version_prints_the_version() {
    let out = bloomgate(&["--version"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        format!("bloomgate {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2_with_the_usage_on_stderr() {
    let cases: [&[&str]; 6] = [
        &[],
        &["serve"],
        &["check"],
        &["check", "-c"],
        &["run", "-c", "k.json", "--port", "99999"],
        &["check", "-c", "k.json", "--rpc-port", "1"],
    ];
    for args in cases {
        let out = bloomgate(args, &[]);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("bloomgate: "), "{args:?}: {out:?}");
        assert!(out.stderr.contains("\nusage:\n"), "{args:?}: {out:?}");
    }
}

#[test]
fn demo_takes_only_a_port() {
    for args in [&["demo", "--port", "http"][..], &["demo", "-c", "x.json"]] {
        let out = bloomgate(args, &[]);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains("\nusage:\n"), "{args:?}: {out:?}");
    }
}
