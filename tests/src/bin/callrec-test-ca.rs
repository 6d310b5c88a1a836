//! `callrec-test-ca DIR`: writes a test CA (`ca.pem`) and a certificate for
//! localhost/127.0.0.1 it signed (`cert.pem`, `key.pem`) into DIR, for the window's and the
//! console's tests of the store over TLS.

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("usage: callrec-test-ca DIR");
        }
        return std::process::ExitCode::from(2);
    };
    callrec_e2e::tls::make(std::path::Path::new(&dir), "callrec test store");
    std::process::ExitCode::SUCCESS
}
