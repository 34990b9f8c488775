//! Email over STARTTLS to a relay with its own CA (`--smtp-ca`): aiosmtpd on loopback with a
//! certificate from a test CA. With that CA the message goes through; with another CA the
//! handshake fails and the delivery is retried, never sent in the clear.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use schakel_app::{Courier, CourierError, Outgoing};
use schakel_delivery::{CentreKey, EmailCourier};
use schakel_domain::{Channel, OrgSlug};
use serde_json::json;

type Failure = Box<dyn std::error::Error>;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A CA (certificate PEM) and a certificate and key for `localhost` it signed.
fn ca_and_leaf() -> Result<(String, String, String), Failure> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "schakel test CA");
    ca.key_usages.extend([
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ]);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.key_usages.push(KeyUsagePurpose::DigitalSignature);
    leaf.extended_key_usages
        .push(ExtendedKeyUsagePurpose::ServerAuth);
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    Ok((ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem()))
}

fn start(dir: &Path, cert: &Path, key: &Path) -> Result<(Server, u16), Failure> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = support::aiosmtpd()?
        .args(["-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--tlscert")
        .arg(cert)
        .arg("--tlskey")
        .arg(key)
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir.join("maildir"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start aiosmtpd (pip install aiosmtpd): {e}"))?;
    let server = Server(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            return Err("aiosmtpd did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((server, port))
}

fn outgoing() -> Result<Outgoing, Failure> {
    Ok(Outgoing {
        id: "dlv_tls0001".into(),
        channel: Channel::Email,
        address: "soc@hospital-south.example".into(),
        recipient: OrgSlug::parse("hospital-south")?,
        payload: json!({"type": "schakel.delivery", "id": "dlv_tls0001", "inbox_id": "dlv_inbox",
                        "data": {"title": "Over TLS", "tlp": "GREEN", "kind": "advisory",
                                 "item": "itm_1", "bases": [], "on_behalf_of": []}}),
        webhook_secret: Err("not a webhook".into()),
        encrypt_to: None,
        at: "2026-11-22T10:00:00Z".parse()?,
    })
}

#[test]
fn starttls_with_the_relays_ca_delivers_and_a_wrong_ca_never_sends_in_the_clear()
-> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    let (ca, cert, key) = ca_and_leaf()?;
    let (cert_file, key_file) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    std::fs::write(&cert_file, cert)?;
    std::fs::write(&key_file, key)?;
    let (_server, port) = start(dir.path(), &cert_file, &key_file)?;
    let centre = CentreKey::generate("Test <t@centre.example>")?;
    let url = format!("smtp://localhost:{port}");

    let courier = EmailCourier::with_ca(
        &url,
        "t@centre.example",
        centre.clone(),
        Some(ca.as_bytes()),
    )?;
    courier
        .deliver(&outgoing()?)
        .map_err(|e| format!("{e:?}"))?;
    let delivered = std::fs::read_dir(dir.path().join("maildir").join("new"))?.count();
    assert_eq!(delivered, 1);

    // Another CA: the certificate does not verify; nothing is sent, the delivery retries.
    let (other_ca, _, _) = ca_and_leaf()?;
    let courier =
        EmailCourier::with_ca(&url, "t@centre.example", centre, Some(other_ca.as_bytes()))?;
    let result = courier.deliver(&outgoing()?);
    assert!(matches!(result, Err(CourierError::Retry(_))), "{result:?}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("maildir").join("new"))?.count(),
        1
    );
    Ok(())
}
