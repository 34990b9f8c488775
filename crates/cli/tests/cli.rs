//! End-to-end tests of the `schakel` binary on a fresh SQLite file per test.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod support;
use support::{TEST_CLOCK, test_clock};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Env {
    dir: tempfile::TempDir,
    /// Tokens made so far, by the person's name.
    tokens: std::cell::RefCell<std::collections::HashMap<String, String>>,
}

/// Someone with a token: every command they run acts as them.
struct Person<'a> {
    env: &'a Env,
    token: String,
}

impl Person<'_> {
    fn command(&self) -> Command {
        let mut c = self.env.command();
        c.env("SCHAKEL_TOKEN", &self.token);
        c
    }

    fn run(&self, args: &[&str]) -> Result<Output, std::io::Error> {
        self.command().args(args).output()
    }

    fn run_stdin(&self, args: &[&str], input: &str) -> Result<Output, Box<dyn std::error::Error>> {
        with_stdin(self.command(), args, input)
    }

    fn json(&self, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
        json_of(self.run(args)?, args)
    }
}

fn with_stdin(
    mut command: Command,
    args: &[&str],
    input: &str,
) -> Result<Output, Box<dyn std::error::Error>> {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(input.as_bytes())?;
    Ok(child.wait_with_output()?)
}

fn json_of(out: Output, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
    if !out.status.success() {
        return Err(format!("{args:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

impl Env {
    fn new() -> Result<Self, std::io::Error> {
        Ok(Self {
            dir: tempfile::tempdir()?,
            tokens: Default::default(),
        })
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("schakel.db")
    }

    fn file(&self, name: &str, text: &str) -> Result<PathBuf, std::io::Error> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    }

    /// A copy of the shipped rulebooks to amend, in `rulebooks/`.
    fn rulebooks(&self) -> Result<PathBuf, std::io::Error> {
        let dir = self.dir.path().join("rulebooks");
        std::fs::create_dir(&dir)?;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rulebooks");
        for name in [
            "schema.cedarschema",
            "wbni-2018.cedar",
            "wbni-2022.cedar",
            "cbw-2026.cedar",
        ] {
            std::fs::copy(root.join(name), dir.join(name))?;
        }
        Ok(dir)
    }

    /// The binary on this test's database, with no token: the installation.
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_schakel"));
        c.env("SCHAKEL_TEST_CLOCK", test_clock())
            .env("SCHAKEL_DB", self.db())
            .env_remove("SCHAKEL_CONFIG")
            .env_remove("SCHAKEL_TOKEN");
        c
    }

    fn run(&self, args: &[&str]) -> Result<Output, std::io::Error> {
        self.command().args(args).output()
    }

    fn run_stdin(&self, args: &[&str], input: &str) -> Result<Output, Box<dyn std::error::Error>> {
        with_stdin(self.command(), args, input)
    }

    fn json(&self, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
        json_of(self.run(args)?, args)
    }

    /// `name`, holding a token with `role` (made by the installation the first time).
    fn person(&self, role: &str, name: &str) -> Result<Person<'_>, Box<dyn std::error::Error>> {
        if let Some(token) = self.tokens.borrow().get(name) {
            return Ok(Person {
                env: self,
                token: token.clone(),
            });
        }
        let made = self.json(&["token", "create", "--role", role, "--name", name, "--json"])?;
        let token = made["token"].as_str().ok_or("no token")?.to_owned();
        self.tokens
            .borrow_mut()
            .insert(name.to_owned(), token.clone());
        Ok(Person { env: self, token })
    }

    fn analyst(&self) -> Result<Person<'_>, Box<dyn std::error::Error>> {
        self.person("analyst", "Anna Analyst")
    }

    fn second_analyst(&self) -> Result<Person<'_>, Box<dyn std::error::Error>> {
        self.person("analyst", "Bob Second")
    }

    fn legal(&self) -> Result<Person<'_>, Box<dyn std::error::Error>> {
        self.person("legal", "Lex Legal")
    }

    fn admin(&self) -> Result<Person<'_>, Box<dyn std::error::Error>> {
        self.person("admin", "Ada Admin")
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TWO: &str = r#"[
  {"slug": "hospital-south", "name": "Hospital South", "sectors": ["health"], "jurisdiction": "NL",
   "designations": [{"status": "other_provider", "from": "2018-11-09", "until": "2026-08-14"},
                    {"status": "important_entity", "from": "2026-08-15", "until": null}],
   "secrecy": {"basis": "confidentiality agreement 2024-031", "from": "2024-03-01", "until": "2027-12-31"},
   "prefixes": ["192.0.2.0/24", "2001:db8:10::/48"], "asns": [64500], "domains": ["hospital-south.example"],
   "contacts": [{"name": "SOC", "email": "soc@hospital-south.example", "pgp_key": null, "webhook_url": null}],
   "ended": null},
  {"slug": "z-cert", "name": "Z-CERT", "sectors": ["health"], "jurisdiction": "NL",
   "designations": [{"status": "crisis_team", "from": "2018-11-09", "until": null}],
   "secrecy": null, "serves": {"sectors": [], "organisations": ["hospital-south"]},
   "prefixes": ["192.0.2.128/25"], "contacts": []}
]"#;

#[test]
fn import_export_round_trips_and_history_names_who_changed_it() -> TestResult {
    let env = Env::new()?;
    let admin = env.admin()?;
    let file = env.file("registry.json", TWO)?;
    let out = env.run(&["org", "import", file.to_str().ok_or("path")?])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("created 2, updated 0, unchanged 0, ended 0"),
        "{}",
        stdout(&out)
    );
    let again = env.json(&["org", "import", file.to_str().ok_or("path")?, "--json"])?;
    assert_eq!(again["unchanged"].as_array().map(Vec::len), Some(2));

    let exported = admin.run(&["org", "export"])?;
    let other = Env::new()?;
    let out = other.run_stdin(&["org", "import", "-"], &stdout(&exported))?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&other.admin()?.run(&["org", "export"])?),
        stdout(&exported)
    );
    let out_file = env.dir.path().join("export.json");
    assert!(
        admin
            .run(&["org", "export", "--out", out_file.to_str().ok_or("path")?])?
            .status
            .success()
    );
    assert_eq!(std::fs::read_to_string(&out_file)?, stdout(&exported));

    let history = admin.json(&["org", "history", "z-cert", "--json"])?;
    assert_eq!(history[0]["action"], "organisation.create");
    assert_eq!(history[0]["actor"], "installation");
    // With a token, the change is the person's.
    let renamed = TWO.replace("\"name\": \"Z-CERT\"", "\"name\": \"Z-CERT (health)\"");
    let out = admin.run_stdin(&["org", "import", "-"], &renamed)?;
    assert!(out.status.success(), "{}", stderr(&out));
    let history = admin.json(&["org", "history", "z-cert", "--json"])?;
    assert_eq!(history[1]["actor"], "Ada Admin (admin)");
    let list = admin.json(&["org", "list", "--json"])?;
    assert!(list.is_array());
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let shown = admin.json(&["org", "show", "hospital-south", "--json"])?;
    assert_eq!(shown["secrecy"]["until"], "2027-12-31");
    let text = stdout(&admin.run(&["org", "show", "hospital-south", "--at", "2028-01-01"])?);
    assert!(text.contains("NOT valid on 2028-01-01"), "{text}");
    Ok(())
}

#[test]
fn a_bad_file_is_refused_whole_with_every_problem_named() -> TestResult {
    let env = Env::new()?;
    let bad = TWO
        .replace(r#""status": "crisis_team""#, r#""status": "crisis-team""#)
        .replace(
            r#""asns": [64500],"#,
            r#""asns": [64500], "colour": "blue","#,
        );
    let file = env.file("bad.json", &bad)?;
    let out = env.run(&["org", "import", file.to_str().ok_or("path")?])?;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("entry 0 (`hospital-south`), field `colour`: unknown field `colour`"),
        "{err}"
    );
    assert!(
        err.contains(
            "entry 1 (`z-cert`), field `designations[0].status`: `crisis-team` is not a status"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(
        env.admin()?.json(&["org", "list", "--all", "--json"])?,
        serde_json::json!([])
    );

    // A reference to an organisation that is neither in the file nor in the registry.
    let dangling = TWO.replace(
        r#""organisations": ["hospital-south"]"#,
        r#""organisations": ["hospital-north"]"#,
    );
    let file = env.file("dangling.json", &dangling)?;
    let out = env.run(&["org", "import", file.to_str().ok_or("path")?])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("entry 1 (`z-cert`), field `serves.organisations[0]`: `hospital-north` is not a registered organisation"), "{}", stderr(&out));
    let out = env.run_stdin(&["org", "import", "-"], "not json")?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not valid JSON"), "{}", stderr(&out));
    Ok(())
}

/// Issue 12, item 4: a registry entry with a second `"secrecy": null` silently removed a
/// guarantee. Every JSON input refuses a key twice, naming where.
#[test]
fn a_key_twice_in_any_json_input_is_refused_naming_where() -> TestResult {
    let env = Env::new()?;
    let twice = TWO.replacen(
        r#""secrecy": {"basis": "confidentiality agreement 2024-031", "from": "2024-03-01", "until": "2027-12-31"},"#,
        r#""secrecy": {"basis": "confidentiality agreement 2024-031", "from": "2024-03-01", "until": "2027-12-31"}, "secrecy": null,"#,
        1,
    );
    assert_ne!(twice, TWO);
    let out = env.run_stdin(&["org", "import", "-"], &twice)?;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("`[0]`") && err.contains("the key `secrecy` appears twice"),
        "{err}"
    );
    assert!(
        env.run_stdin(&["org", "import", "-"], TWO)?
            .status
            .success()
    );
    let anna = env.analyst()?;
    for (args, input, at) in [
        (
            &["item", "create"][..],
            r#"{"kind": "advisory", "title": "x", "tlp": "RED", "tlp": "CLEAR"}"#,
            "the key `tlp` appears twice",
        ),
        (
            &["decide"],
            r#"{"recipient": "z-cert", "item": {"tlp": "AMBER", "tlp": "CLEAR"}}"#,
            "the key `tlp` appears twice in `item`",
        ),
        (
            &["report", "file"],
            r#"{"reporter": "hospital-south", "aware_at": "2026-11-20T10:00:00Z", "category": "other",
                "title": "t", "description": "d", "significant": true, "significant": false,
                "personal_data": false, "cross_border": false, "malicious": false}"#,
            "the key `significant` appears twice",
        ),
    ] {
        let out = anna.run_stdin(args, input)?;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(at), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(anna.json(&["item", "list", "--json"])?["total"], 0);
    Ok(())
}

#[test]
fn prune_add_update_and_end() -> TestResult {
    let env = Env::new()?;
    let admin = env.admin()?;
    env.run_stdin(&["org", "import", "-"], TWO)?;
    let values: Value = serde_json::from_str(TWO)?;
    let only_hospital = serde_json::to_string(&[values[0].clone()])?;
    let report: Value = serde_json::from_slice(
        &admin
            .run_stdin(&["org", "import", "-", "--prune", "--json"], &only_hospital)?
            .stdout,
    )?;
    assert_eq!(report["ended"], serde_json::json!(["z-cert"]));
    let mut newcomer = values[0].clone();
    newcomer["slug"] = "clinic-east".into();
    newcomer["prefixes"] = serde_json::json!(["198.51.100.0/24"]);
    newcomer["domains"] = serde_json::json!(["clinic-east.example"]);
    let out = admin.run_stdin(&["org", "add", "-"], &newcomer.to_string())?;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = admin.run_stdin(&["org", "add", "-"], &newcomer.to_string())?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    newcomer["name"] = "Clinic East".into();
    let updated: Value = serde_json::from_slice(
        &admin
            .run_stdin(&["org", "update", "-", "--json"], &newcomer.to_string())?
            .stdout,
    )?;
    assert_eq!(updated["name"], "Clinic East");
    let ended = admin.json(&["org", "end", "clinic-east", "--on", "2027-01-01", "--json"])?;
    assert_eq!(ended["ended"], "2027-01-01");
    let out = admin.run(&["org", "end", "clinic-east"])?;
    assert_eq!(out.status.code(), Some(1));
    let out = admin.run(&["org", "end", "nobody"])?;
    assert!(
        stderr(&out).contains("no organisation `nobody`"),
        "{}",
        stderr(&out)
    );
    Ok(())
}

#[test]
fn owner_answers_with_the_longest_prefix() -> TestResult {
    let env = Env::new()?;
    let anna = env.analyst()?;
    env.run_stdin(&["org", "import", "-"], TWO)?;
    let o = anna.json(&["owner", "192.0.2.200", "--json"])?;
    assert_eq!(
        (o["organisation"].as_str(), o["prefix"].as_str()),
        (Some("z-cert"), Some("192.0.2.128/25"))
    );
    let o = anna.json(&["owner", "192.0.2.1", "--json"])?;
    assert_eq!(o["organisation"], "hospital-south");
    let o = anna.json(&["owner", "2001:db8:10:ff::1", "--json"])?;
    assert_eq!(o["organisation"], "hospital-south");
    let out = anna.run(&["owner", "203.0.113.1"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no registered organisation owns `203.0.113.1`"));
    let out = anna.run(&["owner", "999.1.1.1"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`999.1.1.1` is not an IPv4 or IPv6 address"));
    Ok(())
}

#[test]
fn tokens_are_shown_once_listed_without_secrets_and_revocable() -> TestResult {
    let env = Env::new()?;
    env.run(&["demo"])?;
    let made = env.json(&[
        "token",
        "create",
        "--role",
        "analyst",
        "--name",
        "Anna",
        "--expires",
        "2099-12-31",
        "--json",
    ])?;
    let secret = made["token"].as_str().ok_or("no token")?.to_owned();
    assert!(secret.starts_with("skl_"));
    let recipient = env.json(&["token", "create", "--org", "z-cert", "--json"])?;
    assert_eq!(recipient["organisation"], "z-cert");
    let list = env.json(&["token", "list", "--json"])?;
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert!(
        !list.to_string().contains(&secret),
        "a listing leaks a secret"
    );
    assert!(list[0].get("token").is_none());
    let id = made["id"].as_str().ok_or("no id")?;
    let revoked = env.json(&["token", "revoke", id, "--json"])?;
    assert_eq!(revoked["state"], "revoked");
    // Usage errors exit 2; user errors exit 1 and name the problem.
    assert_eq!(
        env.run(&["token", "create", "--role", "analyst"])?
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        env.run(&["token", "create", "--role", "janitor", "--name", "x"])?
            .status
            .code(),
        Some(2)
    );
    let out = env.run(&["token", "create", "--org", "nobody"])?;
    assert_eq!(out.status.code(), Some(1));
    let out = env.run(&[
        "token",
        "create",
        "--role",
        "legal",
        "--name",
        "L",
        "--expires",
        "2020-01-01",
    ])?;
    assert!(
        stderr(&out).contains("lies in the past"),
        "{}",
        stderr(&out)
    );
    Ok(())
}

#[test]
fn demo_twice_changes_nothing_the_second_time() -> TestResult {
    let env = Env::new()?;
    let first = env.json(&["demo", "--json"])?;
    assert!(first["created"].as_array().map_or(0, Vec::len) >= 20);
    let second = env.json(&["demo", "--json"])?;
    assert_eq!(second["created"], serde_json::json!([]));
    assert_eq!(second["updated"], serde_json::json!([]));
    Ok(())
}

#[test]
fn the_database_path_comes_from_db_or_the_environment() -> TestResult {
    let env = Env::new()?;
    let elsewhere = env.dir.path().join("elsewhere.db");
    let out = env.run(&["--db", elsewhere.to_str().ok_or("path")?, "demo"])?;
    assert!(out.status.success());
    assert!(elsewhere.exists());
    assert!(!env.db().exists());
    Ok(())
}

#[test]
fn a_configured_sector_vocabulary_replaces_the_default() -> TestResult {
    let env = Env::new()?;
    let config = env.file(
        "schakel.toml",
        "[registry]\nsectors = [\"health\", \"space_weather\"]\n",
    )?;
    let record = r#"[{"slug": "knmi-demo", "name": "Space weather office", "sectors": ["space_weather"],
        "jurisdiction": "NL", "designations": [], "secrecy": null, "contacts": []}]"#;
    let out = env.run_stdin(
        &[
            "--config",
            config.to_str().ok_or("path")?,
            "org",
            "import",
            "-",
        ],
        record,
    )?;
    assert!(out.status.success(), "{}", stderr(&out));
    let other = Env::new()?;
    let out = other.run_stdin(&["org", "import", "-"], record)?;
    assert!(
        stderr(&out).contains("`space_weather` is not a sector of the vocabulary"),
        "{}",
        stderr(&out)
    );
    let bad = env.file("bad.toml", "[registry]\nsectorz = []\n")?;
    let out = env.run(&[
        "--config",
        bad.to_str().ok_or("path")?,
        "org",
        "import",
        "-",
    ])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sectorz"), "{}", stderr(&out));
    Ok(())
}

/// The README's first command: `schakel serve --demo` prints the URL and an analyst token
/// that works against the running server.
#[test]
fn serve_demo_prints_a_url_and_a_working_analyst_token() -> TestResult {
    let env = Env::new()?;
    let mut child = env
        .command()
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let result = (|| -> TestResult {
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let first = lines.next().ok_or("no output")??;
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or("no URL")?
            .trim_end_matches('/')
            .to_owned();
        let mut token = None;
        for line in lines.by_ref().take(3) {
            let line = line?;
            if let Some(t) = line.strip_prefix("analyst token: ") {
                token = Some(t.to_owned());
                break;
            }
        }
        let token = token.ok_or("no analyst token printed")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let health = client.get(format!("{url}/healthz")).send().await?;
            assert_eq!(health.status(), 200);
            let me: Value = client
                .get(format!("{url}/api/v1/me"))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            assert_eq!(me["role"], "analyst");
            let orgs: Value = client
                .get(format!("{url}/api/v1/organisations"))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            assert!(orgs["total"].as_u64().unwrap_or(0) >= 20);
            Ok::<(), Box<dyn std::error::Error>>(())
        })
    })();
    child.kill()?;
    child.wait()?;
    result
}

#[test]
fn secrets_are_never_shown_by_help_messages_or_logs() -> TestResult {
    let env = Env::new()?;
    let secret = "s3cret-Pa55";
    // clap shows environment values in --help unless told not to.
    for command in [&["serve", "--help"][..], &["deliver", "--help"]] {
        let out = env
            .command()
            .env(
                "SCHAKEL_SMTP_URL",
                format!("smtp://mailer:{secret}@127.0.0.1:2525"),
            )
            .args(command)
            .output()?;
        let text = stdout(&out);
        assert!(
            text.contains("SCHAKEL_SMTP_URL") && text.contains("SCHAKEL_TOKEN"),
            "{text}"
        );
        assert!(
            !text.contains(secret),
            "{command:?} shows the password:\n{text}"
        );
        if command[0] == "deliver" {
            // Email is delivered (it was once announced as coming).
            assert!(
                text.contains("PGP/MIME") && !text.contains("email follows"),
                "{text}"
            );
        }
    }
    // A wrong URL is named without its password, whether or not it parses.
    assert!(env.run(&["key", "init"])?.status.success());
    for url in [
        format!("ftp://mailer:{secret}@relay.example"),
        format!("smtp://mailer:{secret}@[relay"),
    ] {
        let out = env
            .command()
            .env("SCHAKEL_SMTP_URL", &url)
            .args(["deliver", "--once"])
            .output()?;
        assert_eq!(out.status.code(), Some(1));
        let text = stderr(&out);
        assert!(text.contains("--smtp-url"), "{text}");
        assert!(
            !text.contains(secret),
            "the error shows the password: {text}"
        );
    }
    // Nor does the server's log, even at its most verbose.
    let mut child = env
        .command()
        .env(
            "SCHAKEL_SMTP_URL",
            format!("smtp://mailer:{secret}@127.0.0.1:9"),
        )
        .env("RUST_LOG", "trace")
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        // To a file: a trace log fills a pipe nobody reads and stops the server.
        .stderr(std::fs::File::create(env.dir.path().join("serve.log"))?)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let first = lines.next().ok_or("no output")??;
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or("no URL")?
        .trim_end_matches('/')
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let health = reqwest::get(format!("{url}/healthz")).await?;
        assert_eq!(health.status(), 200);
        Ok::<(), reqwest::Error>(())
    })?;
    child.kill()?;
    child.wait()?;
    let log = std::fs::read_to_string(env.dir.path().join("serve.log"))?;
    assert!(log.contains("schakel is serving"), "{log}");
    assert!(!log.contains(secret), "the log shows the password:\n{log}");
    Ok(())
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o777)
}

#[test]
#[cfg(unix)]
fn an_installations_files_are_its_own_and_webhook_secrets_are_sealed() -> TestResult {
    let env = Env::new()?;
    let tmp = env.dir.path().join("tmp");
    std::fs::create_dir(&tmp)?;
    // A feed run that crashed left its spool behind.
    let orphan = tmp.join("schakel-feed-4000000-0");
    std::fs::create_dir(&orphan)?;
    std::fs::write(orphan.join("owner.lock"), "")?;
    std::fs::write(orphan.join("rows.spool"), "every column of the source")?;

    assert!(env.run(&["demo"])?.status.success());
    assert!(env.run(&["key", "init"])?.status.success());
    let admin = env.admin()?;
    let out = admin.run(&["webhook", "secret", "z-cert", "--json"])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let secret: Value = serde_json::from_slice(&out.stdout)?;
    let secret = secret["secret"].as_str().ok_or("no secret")?.to_owned();
    let export = env.dir.path().join("registry.json");
    let out = admin.run(&["org", "export", "--out", export.to_str().ok_or("path")?])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let db = env.db();
    let mut files = vec![
        db.clone(),
        env.dir.path().join("schakel-centre.asc"),
        env.dir.path().join("schakel-secrets.key"),
        export,
    ];
    for suffix in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        if std::path::Path::new(&name).exists() {
            files.push(name.into());
        }
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    // The secret is in no file of the database, only sealed.
    for file in files.iter().take(1).chain(files.iter().skip(4)) {
        let bytes = std::fs::read(file)?;
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the webhook secret in clear",
            file.display()
        );
    }
    // A database that others could read is made private when opened.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644))?;
    assert!(admin.run(&["org", "list"])?.status.success());
    assert_eq!(mode(&db), 0o600);

    // Starting the server removes the orphaned spool.
    let mut child = env
        .command()
        .env("TMPDIR", &tmp)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let first = lines.next().ok_or("no output")??;
    child.kill()?;
    child.wait()?;
    assert!(first.contains("schakel is serving"), "{first}");
    assert!(!orphan.exists(), "the orphaned spool is still there");
    Ok(())
}

/// Issue 12, item 3: `USER=bob schakel item approve` approved alice's item, and the audit
/// log believed it. A command acts as the person whose token it is given, or not at all.
#[test]
fn four_eyes_cannot_be_claimed_from_the_terminal() -> TestResult {
    let env = Env::new()?;
    assert!(env.run(&["demo"])?.status.success());
    let alice = env.person("analyst", "alice")?;
    let item = r#"{"kind": "vulnerability", "title": "RCE", "tlp": "AMBER",
                   "concerns": ["hospital-south"], "sectors": ["health"]}"#;
    let created: Value =
        serde_json::from_slice(&alice.run_stdin(&["item", "create", "--json"], item)?.stdout)?;
    let id = created["id"].as_str().ok_or("id")?.to_owned();
    // Claiming to be bob: without a token the command does not run at all.
    let out = env
        .command()
        .env("USER", "bob")
        .args(["item", "approve", &id])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("SCHAKEL_TOKEN"), "{}", stderr(&out));
    // With alice's token it is alice, whatever $USER says: four eyes refuse.
    let out = alice
        .command()
        .env("USER", "bob")
        .args(["item", "approve", &id])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("four eyes"), "{}", stderr(&out));
    // A token that is not one, or was revoked, proves nobody.
    let out = env
        .command()
        .env("SCHAKEL_TOKEN", "skl_0000")
        .args(["item", "approve", &id])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not valid"), "{}", stderr(&out));
    let carol = env.json(&[
        "token", "create", "--role", "analyst", "--name", "carol", "--json",
    ])?;
    let id_of_carol = carol["id"].as_str().ok_or("id")?;
    assert!(env.run(&["token", "revoke", id_of_carol])?.status.success());
    let out = env
        .command()
        .env("SCHAKEL_TOKEN", carol["token"].as_str().ok_or("token")?)
        .args(["item", "approve", &id])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
    let bob = env.person("analyst", "bob")?;
    let out = bob.run(&["item", "approve", &id])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let audit = env.legal()?.json(&[
        "audit",
        "export",
        "--from",
        &TEST_CLOCK[..10],
        "--to",
        &TEST_CLOCK[..10],
    ])?;
    let approvals: Vec<&Value> = audit["entries"]
        .as_array()
        .ok_or("entries")?
        .iter()
        .filter(|e| e["action"] == "item.approve")
        .collect();
    assert_eq!(approvals.len(), 1, "{audit}");
    assert_eq!(approvals[0]["actor"], "bob (analyst)");
    // A token that expired no longer works: a day after its last day, by the clock.
    let made = env.json(&[
        "token",
        "create",
        "--role",
        "analyst",
        "--name",
        "temp",
        "--expires",
        "2026-11-23",
        "--json",
    ])?;
    let temp = made["token"].as_str().ok_or("token")?;
    let later = env
        .command()
        .env("SCHAKEL_TEST_CLOCK", "2026-11-24T10:00:00Z")
        .env("SCHAKEL_TOKEN", temp)
        .args(["item", "list"])
        .output()?;
    assert_eq!(later.status.code(), Some(1));
    assert!(stderr(&later).contains("expired"), "{}", stderr(&later));
    Ok(())
}

/// Issue 12, item 8: the role table, enforced whether a person works through the API or
/// the terminal (the app checks it).
#[test]
fn each_role_does_its_own_work_and_no_more() -> TestResult {
    let env = Env::new()?;
    assert!(env.run(&["demo"])?.status.success());
    let (anna, lex, ada) = (env.analyst()?, env.legal()?, env.admin()?);
    let item = r#"{"kind": "advisory", "title": "Patch", "tlp": "GREEN", "sectors": ["energy"]}"#;
    let today = &TEST_CLOCK[..10];
    let refused = |who: &Person<'_>, args: &[&str], input: Option<&str>| -> TestResult {
        let out = match input {
            Some(text) => who.run_stdin(args, text)?,
            None => who.run(args)?,
        };
        assert_eq!(out.status.code(), Some(1), "{args:?} ran");
        assert!(
            stderr(&out).contains("needs the role"),
            "{args:?}: {}",
            stderr(&out)
        );
        Ok(())
    };
    // Administrators keep the registry and the tokens; they write, approve and read no
    // items, give no standing approvals, read no audit trail or Woo export.
    refused(&ada, &["item", "create"], Some(item))?;
    refused(&ada, &["item", "list"], None)?;
    refused(&ada, &["feed", "approve", "--report", "scan_http"], None)?;
    refused(
        &ada,
        &["audit", "export", "--from", today, "--to", today],
        None,
    )?;
    refused(
        &ada,
        &["woo", "export", "--from", today, "--to", today],
        None,
    )?;
    refused(&ada, &["report", "list"], None)?;
    assert!(ada.run(&["org", "list"])?.status.success());
    assert!(ada.run(&["token", "list"])?.status.success());
    // Analysts work items and reports; they change no registry, issue no tokens and read
    // no audit trail.
    let out = anna.run_stdin(&["item", "create", "--json"], item)?;
    assert!(out.status.success(), "{}", stderr(&out));
    refused(&anna, &["org", "end", "z-cert"], None)?;
    refused(
        &anna,
        &["token", "create", "--role", "admin", "--name", "me"],
        None,
    )?;
    refused(&anna, &["audit", "verify"], None)?;
    // Legal officers review, approve and disclose; they write no items.
    refused(&lex, &["item", "create"], Some(item))?;
    refused(&lex, &["org", "end", "z-cert"], None)?;
    assert!(lex.run(&["item", "list"])?.status.success());
    assert!(lex.run(&["audit", "verify"])?.status.success());
    // A recipient organisation's token is not staff at the terminal either.
    let z = env.json(&["token", "create", "--org", "z-cert", "--json"])?;
    let zcert = Person {
        env: &env,
        token: z["token"].as_str().ok_or("token")?.to_owned(),
    };
    refused(&zcert, &["item", "list"], None)?;
    Ok(())
}

#[test]
fn decide_reads_a_request_and_answers_in_sentences_or_json() -> TestResult {
    let env = Env::new()?;
    let anna = env.analyst()?;
    env.run(&["demo"])?;
    let request = r#"{"at": "2025-03-01", "recipient": "partijen-schakel",
        "item": {"tlp": "AMBER", "concerns": ["partij-voor-de-dijk"], "confidentiality_markers": ["specific_systems"]}}"#;
    let out = anna.run_stdin(&["decide"], request)?;
    assert!(
        out.status.success(),
        "a deny is a successful decision: {}",
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.starts_with("DENY: the centre may not provide this item to Partijen-Schakel"),
        "{text}"
    );
    assert!(text.contains("R1 (Wbni art. 20)"), "{text}");
    assert!(
        text.contains("What would permit it: record a secrecy guarantee for `partijen-schakel`"),
        "{text}"
    );
    let file = env.file("request.json", request)?;
    let d = anna.json(&["decide", file.to_str().ok_or("path")?, "--json"])?;
    assert_eq!(d["decision"], "deny");
    assert_eq!(d["reasons"][0]["remedy"]["kind"], "secrecy_guarantee");
    let out = anna.run_stdin(&["decide", "-"], r#"{"at": "2026-09-01", "recipient": "hospital-south", "item": {"tlp": "AMBER", "concerns": ["hospital-south"]}}"#)?;
    assert!(stdout(&out).starts_with("PERMIT"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("C1 (Cbw art. 16 lid 2 [unconfirmed])"),
        "{}",
        stdout(&out)
    );

    let out = anna.run_stdin(
        &["decide"],
        r#"{"recipient": "hospital-noord", "item": {"tlp": "AMBER"}}"#,
    )?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`recipient`: no organisation `hospital-noord` in the registry"),
        "{}",
        stderr(&out)
    );
    let out = anna.run_stdin(
        &["decide"],
        r#"{"at": "2026-09-01", "recipient": "oude-netbeheerder", "item": {"tlp": "AMBER", "concerns": ["oude-netbeheerder"]}}"#,
    )?;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an ended organisation is never a candidate"
    );
    assert!(
        stderr(&out).contains("`oude-netbeheerder` is ended from 2024-01-01"),
        "{}",
        stderr(&out)
    );
    let out = anna.run_stdin(
        &["decide"],
        r#"{"recipient": "z-cert", "item": {"tlp": "AMBER", "purpose": "curiosity"}}"#,
    )?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("field `item.purpose`"),
        "{}",
        stderr(&out)
    );
    Ok(())
}

#[test]
fn rulebooks_show_and_a_bad_rulebook_stops_start_up_with_file_and_line() -> TestResult {
    let env = Env::new()?;
    let text = stdout(&env.run(&["rulebook", "show", "--at", "2022-11-30"])?);
    assert!(
        text.starts_with("Rulebook wbni-2018 in force on 2022-11-30"),
        "{text}"
    );
    let shown = env.json(&["rulebook", "show", "--at", "2026-08-15", "--json"])?;
    assert_eq!(shown["rulebook"], "cbw-2026");
    let out = env.run(&["rulebook", "show", "--at", "2018-11-08"])?;
    assert_eq!(out.status.code(), Some(1));

    // A directory of amended rulebooks: a misspelt fact stops every command.
    let dir = env.rulebooks()?;
    let dir_arg = dir.to_str().ok_or("path")?;
    let out = env.run(&["--rulebooks", dir_arg, "rulebook", "show"])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let hash = |env: &Env| -> Result<Value, Box<dyn std::error::Error>> {
        Ok(env.json(&["--rulebooks", dir_arg, "rulebook", "show", "--json"])?["hash"].clone())
    };
    let before = hash(&env)?;
    let cbw = std::fs::read_to_string(dir.join("cbw-2026.cedar"))?;
    std::fs::write(
        dir.join("cbw-2026.cedar"),
        cbw.replace(
            "context.recipient.serves_others",
            "context.recipient.serves_other",
        ),
    )?;
    let out = env.run(&["--rulebooks", dir_arg, "demo"])?;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cbw-2026.cedar:") && err.contains("serves_other"),
        "{err}"
    );
    // An amendment that validates is used, and its hash differs.
    std::fs::write(
        dir.join("cbw-2026.cedar"),
        cbw.replace("Cbw art. 96 (?)", "Cbw art. 96"),
    )?;
    let after = hash(&env)?;
    assert_ne!(before, after);
    assert!(after.as_str().is_some_and(|h| h.starts_with("sha256:")));
    Ok(())
}

#[test]
fn rulebook_check_reports_to_a_legal_officer_and_fails_strictly_on_a_dead_rule() -> TestResult {
    let env = Env::new()?;
    let out = env.run(&["rulebook", "check"])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "Rulebook wbni-2018",
        "Rulebook cbw-2026",
        "Items no recipient may receive:",
        "source_restriction = no_onward_sharing",
        "R4-no-onward-sharing denies every recipient that has a basis.",
        "linking_organisation = crisis_team",
        "3 rulebooks valid; every rule fires",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    // Checking reads the rulebooks only: no database is created or written.
    assert!(!env.db().exists());

    // An amendment with a basis that can never apply: reported, and `--strict` fails.
    let dir = env.rulebooks()?;
    let dir_arg = dir.to_str().ok_or("path")?;
    let cbw = std::fs::read_to_string(dir.join("cbw-2026.cedar"))?;
    let amended = format!(
        "{cbw}\n@id(\"X-dead\")\n@kind(\"basis\")\n@citation(\"none\")\n@explanation(\"x\")\n@explanation_nl(\"x\")\npermit (principal, action, resource)\nwhen {{ context.item.tlp == \"RED\" && context.item.tlp == \"CLEAR\" }};\n"
    );
    std::fs::write(dir.join("cbw-2026.cedar"), &amended)?;
    let line = amended[..amended.find("@id(\"X-dead\")").ok_or("id")?]
        .matches('\n')
        .count()
        + 1;
    let out = env.run(&[
        "--rulebooks",
        dir_arg,
        "rulebook",
        "check",
        "--strict",
        "--json",
    ])?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--strict: 1 finding"),
        "{}",
        stderr(&out)
    );
    let report: Value = serde_json::from_str(&stdout(&out))?;
    assert_eq!(report["findings"], 1);
    let cbw = &report["rulebooks"][2];
    assert_eq!(cbw["rulebook"], "cbw-2026");
    assert_eq!(cbw["never_fire"], serde_json::json!(["X-dead"]));
    let dead = cbw["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["id"] == "X-dead"))
        .ok_or("X-dead")?;
    assert_eq!(dead["line"], line);
    assert_eq!(dead["fires"], 0);
    assert_eq!(
        cbw["unshareable"][0]["pattern"]["source_restriction"],
        serde_json::json!(["no_onward_sharing"])
    );
    Ok(())
}

#[test]
fn an_item_is_planned_approved_by_another_person_and_sent_from_the_terminal() -> TestResult {
    let env = Env::new()?;
    let anna = env.analyst()?;
    assert!(env.run(&["demo"])?.status.success());
    let item = r#"{"kind": "vulnerability", "title": "RCE in the patient portal", "tlp": "AMBER",
                   "concerns": ["hospital-south"], "sectors": ["health"]}"#;
    let created = anna.run_stdin(&["item", "create", "--json"], item)?;
    assert!(created.status.success(), "{}", stderr(&created));
    let created: Value = serde_json::from_str(&stdout(&created))?;
    let id = created["id"].as_str().ok_or("id")?.to_owned();

    let plan = stdout(&anna.run(&["item", "plan", &id])?);
    assert!(
        plan.contains("z-cert — via linking organisation, for hospital-south; basis C3"),
        "{plan}"
    );
    assert!(plan.contains("four eyes"), "{plan}");
    // The same person cannot approve; sending first is refused with the way forward.
    let out = anna.run(&["item", "send", &id])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("schakel item approve"),
        "{}",
        stderr(&out)
    );
    let out = anna.run(&["item", "approve", &id])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("four eyes"), "{}", stderr(&out));
    let out = env.second_analyst()?.run(&["item", "approve", &id])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("by Bob Second"), "{}", stdout(&out));
    let out = anna.run(&["item", "send", &id])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("4 deliveries to 2 recipients"),
        "{}",
        stdout(&out)
    );
    let outbox = anna.json(&["outbox", "list", "--item", &id, "--json"])?;
    assert_eq!(outbox["total"], 4);
    let listed = anna.json(&["item", "list", "--status", "sent", "--json"])?;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let out = anna.run(&["item", "list", "--status", "posted"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--status"), "{}", stderr(&out));

    // The audit chain verifies, and the export says what went to whom.
    let lex = env.legal()?;
    let out = lex.run(&["audit", "verify"])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("The audit chain is intact"),
        "{}",
        stdout(&out)
    );
    let today = &TEST_CLOCK[..10];
    let file = env.dir.path().join("audit.json");
    let file_arg = file.to_str().ok_or("path")?;
    let out = lex.run(&[
        "audit", "export", "--from", today, "--to", today, "--out", file_arg,
    ])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let export: Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    assert_eq!(export["chain"]["intact"], true);
    assert_eq!(export["deliveries"].as_array().map(Vec::len), Some(4));
    Ok(())
}

#[test]
fn a_report_is_filed_clocked_triaged_and_disclosed_from_the_terminal() -> TestResult {
    let env = Env::new()?;
    let anna = env.analyst()?;
    assert!(env.run(&["demo"])?.status.success());
    let report = r#"{"reporter": "hospital-south", "aware_at": "2026-11-01T09:00:00Z",
        "category": "intrusions", "type": "system-compromise",
        "title": "Ransomware at Hospital South", "description": "Servers at 198.51.100.7 encrypted.",
        "significant": true, "personal_data": true, "cross_border": false, "malicious": true}"#;
    let out = anna.run_stdin(&["report", "file", "--json"], report)?;
    assert!(out.status.success(), "{}", stderr(&out));
    let filed: Value = serde_json::from_slice(&out.stdout)?;
    let id = filed["id"].as_str().ok_or("no id")?.to_owned();
    // The clocks in JSON as FORMATS.md gives them; in text with the time left.
    let clocks = anna.json(&["report", "clocks", &id, "--json"])?;
    let steps: Vec<String> = clocks
        .as_array()
        .ok_or("not a list")?
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["regime"].as_str().unwrap_or(""),
                c["step"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            "cbw/early_warning",
            "cbw/notification",
            "cbw/intermediate",
            "cbw/final",
            "gdpr/notification"
        ]
    );
    assert_eq!(clocks[0]["due"], "2026-11-02T09:00:00Z");
    let text = stdout(&anna.run(&["report", "clocks", &id])?);
    assert!(
        text.contains("2026-11-02 10:00 CET") && text.contains("OVERDUE"),
        "{text}"
    );
    // Overdue until submitted.
    let overdue = anna.json(&["report", "list", "--overdue", "--json"])?;
    assert_eq!(overdue["total"], 1);
    for step in ["early_warning", "notification"] {
        let out = anna.run(&[
            "report",
            "submit",
            &id,
            "--regime",
            "cbw",
            "--step",
            step,
            "--at",
            "2026-11-01T20:00:00Z",
        ])?;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = anna.run(&[
        "report",
        "submit",
        &id,
        "--regime",
        "gdpr",
        "--step",
        "notification",
    ])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let overdue = anna.json(&["report", "list", "--overdue", "--json"])?;
    assert_eq!(overdue["total"], 0, "{overdue}");
    let out = anna.run(&[
        "report", "submit", &id, "--regime", "dora", "--step", "initial",
    ])?;
    assert!(
        !out.status.success() && stderr(&out).contains("`regime`"),
        "{}",
        stderr(&out)
    );
    // Triage, with its history.
    let out = anna.run(&[
        "report",
        "triage",
        &id,
        "--status",
        "triaged",
        "--impact",
        "serious",
        "--nature",
        "availability,confidentiality",
        "--note",
        "phoned the CISO",
        "--json",
    ])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let view: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(view["triage"]["priority"], "high");
    let history = view["history"].as_array().ok_or("no history")?;
    let actions: Vec<&str> = history
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["filed", "submitted", "submitted", "submitted", "triage"]
    );
    assert_eq!(history[4]["detail"]["note"], "phoned the CISO");
    // Statistics as SVG to a file; the Woo export to a file, without the reporter's name.
    let svg = env.dir.path().join("q4.svg");
    let out = anna.run(&[
        "stats",
        "--period",
        "2026-Q4",
        "--svg",
        "--out",
        svg.to_str().ok_or("path")?,
    ])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&svg)?.starts_with("<svg"));
    let woo = env.dir.path().join("woo.md");
    let out = env.legal()?.run(&[
        "woo",
        "export",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--out",
        woo.to_str().ok_or("path")?,
    ])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&woo)?;
    assert!(
        !text.to_lowercase().contains("hospital") && !text.contains("198.51.100.7"),
        "{text}"
    );
    assert!(
        text.contains("[organisation][^1]") && text.contains("Woo art. 5.1"),
        "{text}"
    );
    // The regime table as read.
    let regimes = anna.json(&["report", "regimes", "--json"])?;
    let dora = regimes
        .as_array()
        .ok_or("not a list")?
        .iter()
        .find(|r| r["id"] == "dora")
        .ok_or("no dora")?;
    assert_eq!(
        (dora["displaces"].clone(), dora["facts_all"].clone()),
        (
            serde_json::json!(["cbw"]),
            serde_json::json!(["significant"])
        )
    );
    // Written advice is listed; bad input names the flag.
    let out = anna.run(&[
        "advice",
        "give",
        "--org",
        "hospital-south",
        "--title",
        "Patch the portal",
        "--measure",
        "Install 4.2.1",
        "--follow-up",
        "2099-01-31",
        "--json",
    ])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let list = anna.json(&["advice", "list", "--json"])?;
    assert_eq!(list[0]["state"], "open");
    let out = anna.run(&["stats", "--period", "2026-Q9"])?;
    assert!(
        !out.status.success() && stderr(&out).contains("`period`"),
        "{}",
        stderr(&out)
    );
    Ok(())
}
