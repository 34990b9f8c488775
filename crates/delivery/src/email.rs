//! Email as PGP/MIME (RFC 3156): every message signed with the centre's key
//! (`multipart/signed`), and encrypted to the recipient's key when the worker asks
//! (`multipart/encrypted`, sign-then-encrypt). The TLP label is in the subject and at the
//! top and bottom of the text; the legal basis and the conditions of use are written out
//! in English and Dutch. `Message-ID` is the delivery's stable id, so a re-sent message
//! is recognisable. SMTP needs TLS except to a loopback address.

use std::fmt::Write as _;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lettre::address::Envelope;
use lettre::transport::smtp::SmtpTransport;
use lettre::{Address, Transport};
use pgp::composed::{ArmorOptions, Deserializable, MessageBuilder, SignedPublicKey};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use schakel_app::{Courier, CourierError, MemberRow, Outgoing, member_rows_csv};
use schakel_domain::Channel;
use schakel_formats::feed::FeedSectionRecord;
use serde_json::Value;

use crate::CentreKey;

/// Sends deliveries by SMTP.
pub struct EmailCourier {
    transport: SmtpTransport,
    from: Address,
    from_header: String,
    key: CentreKey,
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl EmailCourier {
    /// A courier for `smtp://[user:pass@]host[:port]` (STARTTLS required, unless the host
    /// is a loopback address) or `smtps://…` (TLS from the start), sending as `from`
    /// (`Name <address>` or an address) and signing with `key`.
    pub fn new(url: &str, from: &str, key: CentreKey) -> Result<Self, String> {
        Self::with_ca(url, from, key, None)
    }

    /// As [`EmailCourier::new`], trusting also the CA certificate(s) in `ca_pem` (an
    /// internal relay's CA). With a CA given, TLS is required even on loopback.
    pub fn with_ca(
        url: &str,
        from: &str,
        key: CentreKey,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, String> {
        // The URL may carry the relay's password: messages show it with the password hidden.
        let parsed = url::Url::parse(url).map_err(|e| {
            format!(
                "--smtp-url is not a URL ({e}); it is not shown here, as it may hold a password"
            )
        })?;
        let shown = without_password(&parsed);
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("--smtp-url `{shown}` has no host"))?
            .to_owned();
        let tls = match ca_pem {
            None => None,
            Some(pem) => {
                let ca = lettre::transport::smtp::client::Certificate::from_pem(pem)
                    .map_err(|e| format!("--smtp-ca: {e}"))?;
                Some(
                    lettre::transport::smtp::client::TlsParameters::builder(host.clone())
                        .add_root_certificate(ca)
                        .build_rustls()
                        .map_err(|e| format!("--smtp-ca: {e}"))?,
                )
            }
        };
        use lettre::transport::smtp::client::Tls;
        let builder = match (parsed.scheme(), tls) {
            ("smtps", None) => SmtpTransport::relay(&host).map_err(|e| e.to_string())?,
            ("smtps", Some(tls)) => SmtpTransport::builder_dangerous(&host)
                .port(465)
                .tls(Tls::Wrapper(tls)),
            ("smtp", Some(tls)) => SmtpTransport::builder_dangerous(&host)
                .port(587)
                .tls(Tls::Required(tls)),
            ("smtp", None) if is_loopback(&host) => SmtpTransport::builder_dangerous(&host),
            ("smtp", None) => SmtpTransport::starttls_relay(&host).map_err(|e| e.to_string())?,
            (other, _) => {
                return Err(format!(
                    "--smtp-url `{shown}`: scheme `{other}`; use smtp:// (STARTTLS) or smtps://"
                ));
            }
        };
        // Several connections at once: the worker hands over up to `CONCURRENCY` messages
        // in parallel, and each SMTP exchange mostly waits for the network.
        let mut builder = builder
            .timeout(Some(std::time::Duration::from_secs(30)))
            .pool_config(
                lettre::transport::smtp::PoolConfig::new()
                    .max_size(u32::try_from(schakel_app::CONCURRENCY).unwrap_or(16)),
            );
        if let Some(port) = parsed.port() {
            builder = builder.port(port);
        }
        if !parsed.username().is_empty() {
            let user = percent_decode(parsed.username());
            let pass = percent_decode(parsed.password().unwrap_or_default());
            builder = builder.credentials(
                lettre::transport::smtp::authentication::Credentials::new(user, pass),
            );
        }
        let address_text = from
            .rsplit_once('<')
            .map_or(from, |(_, rest)| rest.trim_end_matches('>'))
            .trim();
        let address: Address = address_text
            .parse()
            .map_err(|e| format!("--smtp-from `{from}`: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from: address,
            from_header: from.trim().to_owned(),
            key,
        })
    }
}

/// A URL as it may be shown or logged: its password replaced by `***`.
pub fn without_password(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Only URLs that cannot have a password refuse one.
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes.get(i), bytes.get(i + 1..i + 3)) {
            (Some(b'%'), Some(hex)) => {
                match u8::from_str_radix(&String::from_utf8_lossy(hex), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            (Some(b), _) => {
                out.push(*b);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The longest an RFC 2047 encoded word may be (RFC 2047 section 2).
const ENCODED_WORD: usize = 75;
/// The longest a header line should be (RFC 5322 section 2.1.1).
const HEADER_LINE: usize = 78;

/// A header field, folded so that no line is longer than 78 characters: a value that is
/// plain ASCII is folded at its spaces; any other is RFC 2047 encoded words of at most 75
/// characters each (never splitting a character), one per line.
fn header(name: &str, value: &str) -> String {
    let clean: String = value.chars().filter(|c| !c.is_control()).collect();
    let words: Vec<String> = if clean.is_ascii() {
        clean.split(' ').map(str::to_owned).collect()
    } else {
        encoded_words(&clean)
    };
    let mut out = format!("{name}:");
    let mut line = out.len();
    for (i, word) in words.iter().enumerate() {
        if i > 0 && line + 1 + word.len() > HEADER_LINE {
            out.push_str("\r\n");
            line = 0;
        }
        out.push(' ');
        out.push_str(word);
        line += 1 + word.len();
    }
    out.push_str("\r\n");
    out
}

/// `text` as RFC 2047 `B` encoded words, each at most [`ENCODED_WORD`] characters.
fn encoded_words(text: &str) -> Vec<String> {
    // `=?utf-8?B?` and `?=` take 12 characters; 39 bytes are 52 in base64: a word of 64,
    // within the 75 of RFC 2047, that fits on the first line after `Subject: ` too.
    const BYTES: usize = 39;
    const _: () = assert!(12 + BYTES.div_ceil(3) * 4 <= ENCODED_WORD);
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > BYTES {
            words.push(format!("=?utf-8?B?{}?=", STANDARD.encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?utf-8?B?{}?=", STANDARD.encode(chunk.as_bytes())));
    }
    words
}

/// A `From`: `Name <address>` with only the display name encoded (an address inside an
/// encoded word is no address).
fn from_header(from: &str) -> String {
    match from.rsplit_once('<') {
        Some((name, address)) if !name.trim().is_empty() => {
            let name = name.trim().trim_matches('"');
            let shown = if name.is_ascii() {
                format!("\"{}\"", name.replace(['\\', '"'], ""))
            } else {
                encoded_words(name).join(" ")
            };
            header("From", &format!("{shown} <{address}"))
        }
        _ => header("From", from),
    }
}

/// Base64 in lines of 76 characters, CRLF-terminated.
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out
}

/// Text with CRLF line endings, as MIME wants it.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The text of the message: TLP at the top and bottom, the item, the legal basis and the
/// conditions in English and Dutch, how to acknowledge.
fn body_text(out: &Outgoing) -> String {
    let data = out.payload.get("data").cloned().unwrap_or_default();
    let tlp = str_of(&data, "tlp");
    // Acknowledgements and forwarding confirmations go to the inbox copy.
    let inbox = out
        .payload
        .get("inbox_id")
        .and_then(Value::as_str)
        .unwrap_or(&out.id);
    let mut t = String::new();
    let _ = writeln!(t, "TLP:{tlp}");
    let _ = writeln!(t);
    if out.payload.get("reminder_of").is_some_and(|r| !r.is_null()) {
        let _ = writeln!(
            t,
            "Reminder: this has not been acknowledged yet. / Herinnering: de ontvangst is nog niet bevestigd."
        );
        let _ = writeln!(t);
    }
    let _ = writeln!(t, "{}", str_of(&data, "title"));
    let _ = writeln!(t, "({} · {})", str_of(&data, "kind"), str_of(&data, "item"));
    let _ = writeln!(t);
    let body = str_of(&data, "body");
    if !body.is_empty() {
        let _ = writeln!(t, "{body}");
        let _ = writeln!(t);
    }
    let cves = strings(&data, "cves");
    if !cves.is_empty() {
        let _ = writeln!(t, "CVE: {}", cves.join(", "));
    }
    let indicators = strings(&data, "indicators");
    if !indicators.is_empty() {
        let _ = writeln!(t, "Indicators / Indicatoren:");
        for i in &indicators {
            let _ = writeln!(t, "  {i}");
        }
    }
    let members = strings(&data, "on_behalf_of");
    if !members.is_empty() {
        let _ = writeln!(
            t,
            "You receive this on behalf of / U ontvangt dit namens: {}",
            members.join(", ")
        );
        let _ = writeln!(
            t,
            "Pass it on to them and confirm per organisation / Geef het door en bevestig per organisatie: POST /api/v1/inbox/{inbox}/forwarded"
        );
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "Legal basis / Wettelijke grondslag:");
    for b in data
        .get("bases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let citation = b.get("citation").and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(t, "  {} — {citation}", str_of(b, "rule"));
        let en = str_of(b, "explanation");
        let nl = str_of(b, "explanation_nl");
        if !en.is_empty() {
            let _ = writeln!(t, "    EN: {en}");
        }
        if !nl.is_empty() {
            let _ = writeln!(t, "    NL: {nl}");
        }
    }
    let conditions = out
        .payload
        .get("conditions_explained")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !conditions.is_empty() {
        let _ = writeln!(t);
        let _ = writeln!(t, "Conditions of use / Voorwaarden voor gebruik:");
        for c in &conditions {
            let _ = writeln!(t, "  {}", str_of(c, "id"));
            let en = str_of(c, "explanation");
            let nl = str_of(c, "explanation_nl");
            if !en.is_empty() {
                let _ = writeln!(t, "    EN: {en}");
            }
            if !nl.is_empty() {
                let _ = writeln!(t, "    NL: {nl}");
            }
        }
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Please acknowledge / Bevestig ontvangst: POST /api/v1/inbox/{inbox}/ack"
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "TLP:{tlp}");
    t
}

/// The sections of a feed message: each organisation's rows.
fn feed_sections(out: &Outgoing) -> Vec<FeedSectionRecord> {
    out.payload
        .get("feed")
        .and_then(|f| serde_json::from_value(f.clone()).ok())
        .unwrap_or_default()
}

/// A file name safe in a MIME header: letters, digits, `-`, `_` and `.` kept.
fn file_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The signed MIME entity: the text; for a linking organisation the members it received
/// for as JSON and CSV attachments; for a feed message each organisation's rows as CSV and
/// JSON attachments.
fn content_entity(out: &Outgoing) -> String {
    let data = out.payload.get("data").cloned().unwrap_or_default();
    let mut text = body_text(out);
    let sections = feed_sections(out);
    let mut attachments: Vec<(String, &str, Vec<u8>)> = Vec::new();
    if !sections.is_empty() {
        let mut list = String::from(
            "\nRows per organisation (attached) / Regels per organisatie (bijgevoegd):\n",
        );
        for s in &sections {
            let base = file_name(&format!("{}-{}", s.report, s.organisation));
            let _ = writeln!(
                list,
                "  {}: {} row(s) — {base}.csv, {base}.json",
                s.organisation, s.total
            );
            attachments.push((format!("{base}.csv"), "text/csv", s.csv().into_bytes()));
            let json = serde_json::to_string_pretty(&s.objects()).unwrap_or_default();
            attachments.push((
                format!("{base}.json"),
                "application/json",
                json.into_bytes(),
            ));
        }
        // Before the closing TLP line.
        let at = text.trim_end().rfind('\n').unwrap_or(text.len());
        text.insert_str(at, &list);
    }
    let text_part = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(text.as_bytes())
    );
    let members = strings(&data, "on_behalf_of");
    if !members.is_empty() {
        let (json, csv) = member_files(out, &data, &members);
        attachments.push(("members.json".into(), "application/json", json.into_bytes()));
        attachments.push(("members.csv".into(), "text/csv", csv.into_bytes()));
    }
    if attachments.is_empty() {
        return text_part;
    }
    let boundary = format!("mixed-{}", out.id);
    let mut entity = format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n{text_part}"
    );
    for (name, kind, bytes) in &attachments {
        let charset = if kind.starts_with("text/") {
            "; charset=utf-8"
        } else {
            ""
        };
        let _ = write!(
            entity,
            "--{boundary}\r\nContent-Type: {kind}{charset}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(bytes)
        );
    }
    let _ = write!(entity, "--{boundary}--\r\n");
    entity
}

/// The members a linking organisation received for, as JSON and CSV: the same rows, columns
/// and delivery id (the inbox copy's, which acknowledging and forwarding name) as
/// `GET /api/v1/inbox/{id}/members`, so a script reads either.
fn member_files(out: &Outgoing, data: &Value, members: &[String]) -> (String, String) {
    let delivery = out
        .payload
        .get("inbox_id")
        .and_then(Value::as_str)
        .unwrap_or(&out.id);
    let version = data
        .get("version")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or_default();
    let rows: Vec<MemberRow> = members
        .iter()
        .map(|m| MemberRow {
            member: m.clone(),
            delivery: delivery.to_owned(),
            item: str_of(data, "item").to_owned(),
            version,
            title: str_of(data, "title").to_owned(),
            tlp: str_of(data, "tlp").to_owned(),
            // A confirmation comes after the mail; the inbox shows it.
            forwarded_at: None,
        })
        .collect();
    let json = serde_json::to_string_pretty(&rows).unwrap_or_default();
    (json, member_rows_csv(&rows))
}

/// The whole message (headers and body), signed and, when asked, encrypted.
fn compose(out: &Outgoing, from_header_text: &str, key: &CentreKey) -> Result<Vec<u8>, String> {
    let data = out.payload.get("data").cloned().unwrap_or_default();
    let tlp = str_of(&data, "tlp");
    let title = format!("[TLP:{tlp}] {}", str_of(&data, "title"));
    let mut content = crlf(&content_entity(out));
    if out.encrypt_to.is_some() {
        // Header protection (RFC 9788): the real subject inside the signed and encrypted
        // part, where mail programs that know it show it instead of the outer one.
        if let Some(end) = content.find("\r\n") {
            content.insert_str(end, "; protected-headers=\"v1\"");
        }
        content.insert_str(0, &header("Subject", &title));
    }
    let signature = key.sign(content.as_bytes())?;
    let signed_boundary = format!("signed-{}", out.id);
    let signed = format!(
        "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"{signed_boundary}\"\r\n\r\n--{signed_boundary}\r\n{content}\r\n--{signed_boundary}\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\nContent-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n{}\r\n--{signed_boundary}--\r\n",
        crlf(&signature)
    );
    let (subject, entity) = match &out.encrypt_to {
        None => (title, signed),
        Some(armored) => {
            let (public, _) = SignedPublicKey::from_string(armored)
                .map_err(|e| format!("the recipient's OpenPGP key does not parse: {e}"))?;
            let encrypted = encrypt(&public, signed.as_bytes())?;
            let boundary = format!("encrypted-{}", out.id);
            (
                // The outer subject is read by every relay on the way: the title is the
                // item's content, so it travels inside the encryption (as the protected
                // `Subject` that mail programs show), and outside only what it is.
                format!(
                    "[TLP:{tlp}] {} {} (encrypted; the title is inside)",
                    str_of(&data, "kind"),
                    str_of(&data, "item")
                ),
                format!(
                    "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\nContent-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n{}\r\n--{boundary}--\r\n",
                    crlf(&encrypted)
                ),
            )
        }
    };
    let date = jiff::fmt::rfc2822::to_string(&out.at.to_zoned(jiff::tz::TimeZone::UTC))
        .map_err(|e| e.to_string())?;
    // The right-hand side of a Message-ID is a domain: the sender's.
    let domain = from_header_address(from_header_text)
        .rsplit_once('@')
        .map_or("schakel.invalid", |(_, d)| d);
    let headers = format!(
        "{}{}{}Date: {date}\r\nMessage-ID: <{}@{domain}>\r\nMIME-Version: 1.0\r\nX-Schakel-Delivery: {}\r\n",
        from_header(from_header_text),
        header("To", &out.address),
        header("Subject", &subject),
        out.id,
        out.id
    );
    Ok(format!("{headers}{entity}").into_bytes())
}

/// The address of a `Name <address>` or bare address.
fn from_header_address(from: &str) -> &str {
    from.rsplit_once('<')
        .map_or(from, |(_, rest)| rest.trim_end_matches('>'))
        .trim()
}

/// Encrypts to every subkey of `key` that may encrypt (or the primary key when it may).
fn encrypt(key: &SignedPublicKey, data: &[u8]) -> Result<String, String> {
    let mut builder = MessageBuilder::from_bytes("", data.to_vec())
        .seipd_v1(rand::thread_rng(), SymmetricKeyAlgorithm::AES256);
    let mut any = false;
    for sub in &key.public_subkeys {
        let usable = sub.signatures.iter().any(|s| {
            let flags = s.key_flags();
            flags.encrypt_comms() || flags.encrypt_storage()
        });
        if usable {
            builder
                .encrypt_to_key(rand::thread_rng(), sub)
                .map_err(|e| format!("cannot encrypt to the recipient's key: {e}"))?;
            any = true;
        }
    }
    if !any {
        return Err("the recipient's OpenPGP key has no encryption subkey".into());
    }
    builder
        .to_armored_string(rand::thread_rng(), ArmorOptions::default())
        .map_err(|e| format!("cannot encrypt: {e}"))
}

impl Courier for EmailCourier {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn deliver(&self, out: &Outgoing) -> Result<(), CourierError> {
        let to: Address = out
            .address
            .parse()
            .map_err(|e| CourierError::Permanent(format!("`{}`: {e}", out.address)))?;
        let message =
            compose(out, &self.from_header, &self.key).map_err(CourierError::Permanent)?;
        let envelope = Envelope::new(Some(self.from.clone()), vec![to])
            .map_err(|e| CourierError::Permanent(e.to_string()))?;
        self.transport
            .send_raw(&envelope, &message)
            .map(|_| ())
            .map_err(|e| {
                if e.is_permanent() {
                    CourierError::Permanent(format!("SMTP refused {}: {e}", out.address))
                } else {
                    CourierError::Retry(format!("SMTP: {e}"))
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_may_skip_tls() {
        assert!(is_loopback("127.0.0.1") && is_loopback("[::1]") && is_loopback("localhost"));
        assert!(!is_loopback("mail.example") && !is_loopback("10.0.0.1"));
    }

    /// Issue 13, item 7: a non-ASCII subject was one 108-character encoded word, and long
    /// headers were not folded.
    #[test]
    fn headers_are_encoded_in_short_words_and_folded() {
        assert_eq!(header("Subject", "plain"), "Subject: plain\r\n");
        // No header injection: control characters are dropped.
        assert_eq!(header("Subject", "a\r\nBcc: x"), "Subject: aBcc: x\r\n");
        let long = "Kwetsbaarheid in de patiëntenportaalappliance van Gemeente Ĳsselstein, Ziekenhuis Zuid en Waterschap Groot-Salland: handel nu";
        let folded = header("Subject", long);
        for line in folded.trim_end().split("\r\n") {
            assert!(line.len() <= 78, "{} characters: {line}", line.len());
        }
        let words: Vec<&str> = folded
            .split_whitespace()
            .filter(|w| w.starts_with("=?"))
            .collect();
        assert!(words.len() > 2);
        let mut decoded = Vec::new();
        for word in &words {
            assert!(word.len() <= 75, "{word}");
            let b64 = word.trim_start_matches("=?utf-8?B?").trim_end_matches("?=");
            let bytes = STANDARD.decode(b64).unwrap_or_default();
            // Each word holds whole characters.
            assert!(std::str::from_utf8(&bytes).is_ok(), "{word}");
            decoded.extend(bytes);
        }
        assert_eq!(String::from_utf8_lossy(&decoded), long);
        // An ASCII value too long for a line folds at its spaces.
        let ascii = "word ".repeat(40);
        assert!(
            header("Subject", ascii.trim())
                .split("\r\n")
                .all(|l| l.len() <= 78)
        );
        // A From with a non-ASCII name: only the name is encoded.
        let from = from_header("Centrum Ĳssel <cert@centre.example>");
        assert!(
            from.starts_with("From: =?utf-8?B?") && from.contains(" <cert@centre.example>"),
            "{from}"
        );
        assert_eq!(
            from_header("schakel <cert@centre.example>"),
            "From: \"schakel\" <cert@centre.example>\r\n"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%2Fword"), "p@ss/word");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
