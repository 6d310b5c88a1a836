//! `callrec login`: sign in to the central store and remember the session.

use std::process::ExitCode;

use crate::data;

/// Sign in to the central store. The password comes from CALLREC_PASSWORD, or is asked for
/// without echo. The session is kept in the local data folder for `callrec upload`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The store's address, e.g. http://127.0.0.1:8640.
    #[arg(long, value_name = "URL")]
    server: String,
    /// The user name.
    #[arg(long, value_name = "NAME")]
    user: String,
    /// Allow plain http:// to a store off this machine (a test lab only: passwords and
    /// recordings then cross the network unencrypted). Same as CALLREC_INSECURE_HTTP=1.
    #[arg(long)]
    insecure_http: bool,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    if args.insecure_http {
        callrec_agent::allow_insecure_http();
    }
    let password = match std::env::var("CALLREC_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(p) => p,
        None => match rpassword::prompt_password(format!("password for {}: ", args.user)) {
            Ok(p) => p,
            Err(e) => return crate::fail(&format!("cannot read the password: {e}"), 1),
        },
    };
    let session = match data::session() {
        Ok(s) => s,
        Err(e) => return crate::fail(&e, 1),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return crate::fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    match runtime.block_on(session.sign_in(&args.server, &args.user, &password)) {
        Ok(user) => crate::print(&format!(
            "signed in to {} as {} ({})",
            args.server, user.username, user.role
        )),
        Err(e) => crate::fail(&e.to_string(), 1),
    }
}
