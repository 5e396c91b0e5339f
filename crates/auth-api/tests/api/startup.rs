//! The real binary refuses flags that cannot work before it binds or
//! connects: a usage error naming the flag, exit code 2.

use crate::cli::run_auth_server;

/// Every flag that takes a length of time.
const DURATION_FLAGS: [&str; 12] = [
    "--hash-queue-timeout",
    "--header-read-timeout",
    "--body-read-timeout",
    "--idle-timeout",
    "--database-timeout",
    "--session-idle-timeout",
    "--session-absolute-timeout",
    "--shutdown-timeout",
    "--login-max-delay",
    "--login-ip-window",
    "--session-cache-ttl",
    "--purge-interval",
];

/// A port nothing listens on, so a server that did start would be seen.
const BIND: &str = "127.0.0.1:1";

#[test]
fn a_zero_duration_exits_2() {
    for flag in DURATION_FLAGS {
        let output = run_auth_server(&["--bind", BIND, flag, "0s"], "");
        assert_eq!(output.code, Some(2), "{flag}: {output:?}");
        assert!(
            output.stderr.contains("must be positive"),
            "{flag}: {output:?}"
        );
    }
}

#[test]
fn a_duration_past_ten_years_exits_2_naming_the_flag_before_binding() {
    for flag in DURATION_FLAGS {
        let output = run_auth_server(&["--bind", BIND, flag, "300000y"], "");
        assert_eq!(output.code, Some(2), "{flag}: {output:?}");
        assert!(output.stderr.contains(flag), "{flag}: {output:?}");
        assert!(
            output
                .stderr
                .contains("300000y is longer than the maximum of 10 years"),
            "{flag}: {output:?}"
        );
        assert!(!output.stderr.contains("listening"), "{output:?}");
    }
}

#[test]
fn a_flag_combination_that_cannot_work_exits_2_naming_the_flag() {
    let output = run_auth_server(
        &[
            "--bind",
            BIND,
            "--database-url",
            "postgres://127.0.0.1:1/none",
            "--database-max-connections",
            "1",
        ],
        "",
    );
    assert_eq!(output.code, Some(2), "{output:?}");
    assert!(
        output.stderr.contains("error: --database-max-connections:"),
        "{output:?}"
    );
}

#[test]
fn admin_commands_apply_the_same_checks_as_the_server() {
    let output = run_auth_server(
        &["--session-absolute-timeout", "300000y", "user", "list"],
        "",
    );
    assert_eq!(output.code, Some(2), "{output:?}");
    let output = run_auth_server(&["--cors-allowed-origins", "*", "user", "list"], "");
    assert_eq!(output.code, Some(2), "{output:?}");
    assert!(
        output.stderr.contains("--cors-allowed-origins"),
        "{output:?}"
    );
}
