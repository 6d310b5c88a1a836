//! A private CA and a store certificate signed by it, for tests of TLS end to end: the
//! certificate names `localhost` and `127.0.0.1`, so clients check it as they would a real
//! one (a client that does not trust the CA refuses it).
#![allow(clippy::missing_panics_doc)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// The files of a test CA and of one server certificate it signed.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA's certificate (what clients trust: `CALLREC_CA`).
    pub ca: PathBuf,
    /// The server's certificate.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// Makes a CA and a certificate for `localhost`/`127.0.0.1` in `dir` (`ca.pem`, `cert.pem`,
/// `key.pem`); `name` goes in the server certificate's common name (two calls give two
/// different certificates from two different CAs).
pub fn make(dir: &Path, name: &str) -> TestCa {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("callrec test CA ({name})"));
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, &ca).expect("certificate");
    let files = TestCa {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.ca, ca.pem()).expect("write");
    std::fs::write(&files.cert, cert.pem()).expect("write");
    std::fs::write(&files.key, key.serialize_pem()).expect("write");
    files
}
