//! A throwaway certificate authority and a server certificate for the provider host names,
//! so real clients verify the test server as they would the real API.

use anyhow::Result;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Host names the server certificate covers.
pub const HOSTS: &[&str] = &[
    "api.openai.com",
    "api.anthropic.com",
    "aisensor-test.openai.azure.com",
    "llm.internal.example",
    "generativelanguage.googleapis.com",
    "bedrock-runtime.us-east-1.amazonaws.com",
    "localhost",
];

pub struct TestCa {
    /// PEM of the CA certificate, for the clients (`curl --cacert`, Python `cafile`, node `ca`).
    pub ca_pem_path: PathBuf,
    pub server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new(dir: &Path) -> Result<TestCa> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "aisensor test CA");
        let ca_key = KeyPair::generate()?;
        let ca = ca_params.self_signed(&ca_key)?;

        let mut names: Vec<String> = HOSTS.iter().map(|h| h.to_string()).collect();
        names.push("127.0.0.1".into());
        let params = CertificateParams::new(names)?;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca, &ca_key)?;

        let ca_pem_path = dir.join("ca.pem");
        std::fs::write(&ca_pem_path, ca.pem())?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec()), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )?;
        // HTTP/1.1 only: the mock speaks HTTP/1.1 (clients offering h2 fall back to it);
        // HTTP/2 is tested against node's h2 server (tests/clients/h2_server.js).
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TestCa {
            ca_pem_path,
            server: Arc::new(server),
        })
    }
}
