use super::{DEFAULT_PORT, MapEnv, PORT_VAR, ProcessEnv, listen_port};
use crate::config::Env;

#[test]
fn precedence_is_flag_then_env_then_file_then_default() {
    let empty = MapEnv::default();
    let env = MapEnv::new([(PORT_VAR, "9001")]);
    assert_eq!(listen_port(Some(9000), &env, Some(9002)), Ok(9000));
    assert_eq!(listen_port(None, &env, Some(9002)), Ok(9001));
    assert_eq!(listen_port(None, &env, None), Ok(9001));
    assert_eq!(listen_port(None, &empty, Some(9002)), Ok(9002));
    assert_eq!(listen_port(None, &empty, None), Ok(DEFAULT_PORT));
    assert_eq!(DEFAULT_PORT, 8080);
}

#[test]
fn a_flag_wins_even_over_a_bad_env_value() {
    let env = MapEnv::new([(PORT_VAR, "nope")]);
    assert_eq!(listen_port(Some(1), &env, None), Ok(1));
}

#[test]
fn an_empty_env_value_counts_as_unset() {
    let env = MapEnv::new([(PORT_VAR, "")]);
    assert_eq!(listen_port(None, &env, Some(7000)), Ok(7000));
    let env = MapEnv::new([(PORT_VAR, " 7001 ")]);
    assert_eq!(listen_port(None, &env, Some(7000)), Ok(7001));
}

#[test]
fn a_bad_env_value_is_an_error_naming_the_variable() {
    for bad in ["abc", "65536", "-1", "+80", "80.0", "0x50"] {
        let env = MapEnv::new([(PORT_VAR, bad)]);
        let e = listen_port(None, &env, Some(7000)).expect_err(bad);
        assert_eq!(e.path, "env KRAKEND_PORT", "{bad}");
        assert_eq!(
            e.message,
            format!("must be a port number (0-65535), got {bad:?}")
        );
    }
}

#[test]
fn the_process_env_reads_real_variables() {
    // PATH is set in every test environment; nothing is written.
    assert!(ProcessEnv.var("PATH").is_some());
    assert!(
        ProcessEnv
            .var("BLOOMGATE_SURELY_UNSET_VARIABLE_4711")
            .is_none()
    );
}
