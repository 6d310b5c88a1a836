//! `callrec login`: sign in to the central store and remember the session.

use std::process::ExitCode;

use callrec_uploader::Client;

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
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return crate::fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    let result = runtime.block_on(async {
        let client = Client::new(&args.server).map_err(|e| e.to_string())?;
        client
            .login(&args.user, &password)
            .await
            .map_err(|e| e.to_string())
    });
    let login = match result {
        Ok(l) => l,
        Err(e) => return crate::fail(&e, 1),
    };
    let saved = data::outbox().and_then(|outbox| {
        for (key, value) in [
            (data::SERVER, args.server.as_str()),
            (data::TOKEN, &login.token),
            (data::USER, &login.user.username),
        ] {
            outbox.set_setting(key, value).map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    if let Err(e) = saved {
        return crate::fail(&e, 1);
    }
    crate::print(&format!(
        "signed in to {} as {} ({})",
        args.server, login.user.username, login.user.role
    ))
}
