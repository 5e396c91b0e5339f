//! `spawn_app()`: the real app, built by the composition root from the same
//! flags the server parses, over a fresh, migrated SQLite file, with cheap
//! scrypt parameters and a manual clock; one method per route.

use std::sync::Arc;
use std::time::Duration;

use auth_api::app::{App, Root};
use auth_api::config::Cli;
use auth_api::mail::{Mailer, TemplateComposer};
use auth_core::{ManualClock, SessionPolicy};
use auth_store_sea::SeaStore;
use clap::Parser as _;
use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::{EndpointExt, Response};
use serde_json::{Value, json};

/// A password that passes the default policy.
pub const GOOD_PASSWORD: &str = "tangerine maple orbit 42";

pub struct TestApp {
    pub client: TestClient<BoxEndpoint<'static, Response>>,
    pub endpoint: Arc<BoxEndpoint<'static, Response>>,
    pub database_url: String,
    pub clock: ManualClock,
    pub store: SeaStore,
    pub session_policy: SessionPolicy,
    /// What the composition root built; dropping it stops the background tasks.
    pub app: App,
    /// The app's mail transport (an `.eml` directory unless a test gives
    /// `--smtp-url`) and templates: [`TestApp::deliver`] runs the outbox.
    pub mailer: Mailer,
    pub composer: TemplateComposer,
    mail_seen: std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>>,
    pub mail_dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A message the app wrote to its mail directory, its body decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mail {
    /// The token of the message's link, if it has one.
    pub fn token(&self) -> Option<String> {
        let at = self.body.find("token=")? + "token=".len();
        let token: String = self.body[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (token.len() == 43).then_some(token)
    }
}

/// Reads an `.eml` file: the `To` and `Subject` headers, and the bodies
/// with quoted-printable soft breaks and `=3D` undone (enough for links).
fn read_mail(path: &std::path::Path) -> Mail {
    let raw = std::fs::read_to_string(path).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let body = body.replace("=\r\n", "").replace("=3D", "=");
    Mail {
        to: header("To"),
        subject: header("Subject"),
        body,
    }
}

/// The flags a test adds to the cheap defaults, exactly as an operator
/// would pass them to `auth-server`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    args: Vec<String>,
    /// Reuse this database (a second "instance" on the same data).
    pub database_url: Option<String>,
}

impl Options {
    /// Adds `flag value`.
    pub fn with(mut self, flag: &str, value: impl ToString) -> Self {
        self.args.push(flag.to_owned());
        self.args.push(value.to_string());
        self
    }

    /// Adds a switch such as `--cookie-secure`.
    pub fn switch(mut self, flag: &str) -> Self {
        self.args.push(flag.to_owned());
        self
    }

    /// On the database of `url` (another instance's, or PostgreSQL).
    pub fn on(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_owned());
        self
    }
}

/// Cheap hashing for tests (`ScryptParams::insecure_fast_for_tests`), two
/// hashing threads, a long queue, and refusals answered at once (the pause
/// has its own test); everything else is the server's default.
const TEST_FLAGS: [&str; 10] = [
    "--scrypt-log-n",
    "4",
    "--hash-concurrency",
    "2",
    "--hash-queue",
    "64",
    "--refusal-delay",
    "0s",
    // The outbox is run by the tests (`TestApp::deliver`), not on a timer.
    "--mail-poll-interval",
    "3650d",
];

/// One secret key file for every PostgreSQL instance of this test process,
/// as operators give one file to every instance of a deployment.
pub fn shared_key_file() -> &'static std::path::Path {
    static FILE: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    &FILE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("secret.keys");
            auth_api::keys::add(&path, Some("test")).unwrap();
            (dir, path)
        })
        .1
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("auth.db").display()));
    // A flag the test sets replaces the cheap default (clap refuses a flag twice).
    let defaults = TEST_FLAGS
        .chunks(2)
        .filter(|pair| !options.args.iter().any(|arg| arg == pair[0]))
        .flatten()
        .map(|arg| (*arg).to_owned())
        .collect::<Vec<_>>();
    let mail_dir = dir.path().join("mail");
    // PostgreSQL instances must share a secret key file (the server refuses
    // to start without one); every test instance of this process uses one.
    let key_flag = (url.starts_with("postgres")
        && !options.args.iter().any(|arg| arg == "--secret-key-file"))
    .then(|| {
        [
            "--secret-key-file".to_owned(),
            shared_key_file().display().to_string(),
        ]
    })
    .into_iter()
    .flatten();
    let args = ["auth-server", "--insecure-allow-weak-hashing"]
        .into_iter()
        .map(str::to_owned)
        .chain(defaults)
        .chain(["--database-url".to_owned(), url.clone()])
        .chain(["--mail-dir".to_owned(), mail_dir.display().to_string()])
        .chain(key_flag)
        .chain(options.args);
    let config = Cli::try_parse_from(args).unwrap().config;
    let clock = ManualClock::default();
    let root = Root::new(config)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let app = root.start().await.unwrap();
    let mailer = root.mailer().unwrap();
    let composer = root.composer().unwrap();
    let endpoint = app.endpoint();
    TestApp {
        client: TestClient::new(SharedEndpoint(endpoint.clone()).boxed()),
        endpoint,
        database_url: url,
        clock,
        store: app.auth().store().clone(),
        session_policy: *app.auth().session_policy(),
        app,
        mailer,
        composer,
        mail_seen: std::sync::Mutex::default(),
        mail_dir,
        _dir: dir,
    }
}

impl TestApp {
    /// Runs the outbox once and returns the messages written since the
    /// last call, oldest first.
    pub async fn deliver(&self) -> Vec<Mail> {
        self.app
            .auth()
            .deliver_mail(&self.mailer, &self.composer, 100)
            .await
            .unwrap();
        let mut new: Vec<std::path::PathBuf> = std::fs::read_dir(&self.mail_dir)
            .map(|entries| {
                entries
                    .map(|entry| entry.unwrap().path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        new.sort();
        let mut seen = self.mail_seen.lock().unwrap();
        new.into_iter()
            .filter(|path| seen.insert(path.clone()))
            .map(|path| read_mail(&path))
            .collect()
    }

    /// Runs the outbox until a message arrives (work done after the
    /// answer, as `/password/forgot`'s, may take a moment), at most 5 s.
    pub async fn deliver_one(&self) -> Mail {
        for _ in 0..250 {
            let mut mail = self.deliver().await;
            if let Some(first) = mail.pop() {
                assert!(mail.is_empty(), "one message expected: {mail:?}");
                return first;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no mail arrived");
    }
}

/// A response read whole: status, headers, JSON body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: poem::http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from(response: TestResponse) -> Self {
        let status = response.0.status();
        let headers = response.0.headers().clone();
        let text = response.0.into_body().into_string().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text:?}"));
        Self {
            status,
            headers,
            body,
        }
    }

    /// Asserts an error reply with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["code"], code, "{}", self.body);
        assert!(
            self.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}",
            self.body
        );
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// The `session` cookie's value from `Set-Cookie`.
    pub fn session_cookie(&self) -> String {
        let set_cookie = self.header("set-cookie").expect("a Set-Cookie header");
        set_cookie
            .split(';')
            .next()
            .and_then(|pair| pair.strip_prefix("session="))
            .expect("a session cookie")
            .to_owned()
    }
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        Reply::from(self.client.post(path).body_json(body).send().await).await
    }

    pub async fn post_register(&self, username: &str, password: &str) -> Reply {
        self.post_json(
            "/register",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn post_login(&self, username: &str, password: &str) -> Reply {
        self.post_json(
            "/login",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Registers and logs in; returns the token.
    pub async fn logged_in(&self, username: &str) -> String {
        let registered = self.post_register(username, GOOD_PASSWORD).await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.body
        );
        let login = self.post_login(username, GOOD_PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        login.body["token"].as_str().unwrap().to_owned()
    }

    pub async fn get_protected_bearer(&self, token: &str) -> Reply {
        Reply::from(
            self.client
                .get("/protected")
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await,
        )
        .await
    }

    pub async fn get_protected_cookie(&self, token: &str) -> Reply {
        Reply::from(
            self.client
                .get("/protected")
                .header("cookie", format!("session={token}"))
                .send()
                .await,
        )
        .await
    }

    pub async fn post_logout_cookie(&self, token: &str) -> Reply {
        Reply::from(
            self.client
                .post("/logout")
                .header("cookie", format!("session={token}"))
                .send()
                .await,
        )
        .await
    }

    pub async fn post_logout_bearer(&self, token: &str) -> Reply {
        Reply::from(
            self.client
                .post("/logout")
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await,
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::from(self.client.get(path).send().await).await
    }

    /// The app still answers normally: used after every bad-input test.
    pub async fn assert_healthy(&self) {
        let health = self.get("/health").await;
        assert_eq!(health.status, StatusCode::OK);
        assert_eq!(health.body, json!({"status": "ok"}));
    }

    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        auth_core::Clock::now(&self.clock)
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// How a request presents its session.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// `Cookie: session=<token>`.
    Cookie(&'a str),
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// Nothing.
    Nobody,
}

impl Auth<'_> {
    /// The same token both ways (for tests that run once per scheme).
    pub fn both(token: &str) -> [Auth<'_>; 2] {
        [Auth::Cookie(token), Auth::Bearer(token)]
    }
}

impl TestApp {
    /// `method path` with `auth`, and `body` as JSON when given.
    pub async fn send(
        &self,
        method: poem::http::Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.client.request(method, path);
        request = match auth {
            Auth::Cookie(token) => request.header("cookie", format!("session={token}")),
            Auth::Bearer(token) => request.header("authorization", format!("Bearer {token}")),
            Auth::Nobody => request,
        };
        if let Some(body) = body {
            request = request.body_json(body);
        }
        Reply::from(request.send().await).await
    }

    pub async fn get_as(&self, path: &str, auth: Auth<'_>) -> Reply {
        self.send(poem::http::Method::GET, path, auth, None).await
    }

    pub async fn post_as(&self, path: &str, auth: Auth<'_>, body: Option<&Value>) -> Reply {
        self.send(poem::http::Method::POST, path, auth, body).await
    }

    pub async fn delete_as(&self, path: &str, auth: Auth<'_>) -> Reply {
        self.send(poem::http::Method::DELETE, path, auth, None)
            .await
    }

    /// Another login of an existing user; returns its token.
    pub async fn login_again(&self, username: &str, password: &str) -> String {
        let login = self.post_login(username, password).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        login.body["token"].as_str().unwrap().to_owned()
    }

    /// The public id of the session of `token`, as `GET /sessions` shows it.
    pub async fn session_id(&self, token: &str) -> String {
        let listed = self.get_as("/sessions", Auth::Bearer(token)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        listed.body["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|session| session["current"] == true)
            .and_then(|session| session["id"].as_str())
            .unwrap()
            .to_owned()
    }
}

/// The app's endpoint, shared by the in-process client and a real socket.
struct SharedEndpoint(Arc<BoxEndpoint<'static, Response>>);

impl poem::Endpoint for SharedEndpoint {
    type Output = Response;
    async fn call(&self, req: poem::Request) -> poem::Result<Response> {
        self.0.call(req).await
    }
}

impl TestApp {
    /// Serves the app on 127.0.0.1:<free port> through the real listener
    /// and its connection limits (for what only a socket shows: the peer
    /// address, timeouts). The server stops when the handle is dropped.
    pub async fn serve_on_socket(&self) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let endpoint = self.endpoint.clone();
        let limits = self.app.limits();
        let task = tokio::spawn(async move {
            let _ = auth_api::server::serve(
                listener,
                endpoint,
                limits,
                std::future::pending(),
                Duration::from_secs(1),
            )
            .await;
        });
        Served { addr, task }
    }
}

pub struct Served {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Served {
    /// One HTTP/1.1 request over a fresh connection; returns status and body.
    pub async fn post_json(
        &self,
        path: &str,
        extra_headers: &[(&str, &str)],
        body: &Value,
    ) -> (u16, Value) {
        let reply = self.post_json_raw(path, extra_headers, body).await;
        (reply.status, reply.body)
    }

    /// One HTTP/1.1 request of any method over a fresh connection, with a
    /// JSON body when given.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        extra_headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> RawReply {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in extra_headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
        let (head, payload) = raw.split_once("\r\n\r\n").unwrap();
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        RawReply {
            status,
            headers,
            body: serde_json::from_str(payload).unwrap_or(Value::Null),
        }
    }

    /// [`Served::post_json`], with the response headers too.
    pub async fn post_json_raw(
        &self,
        path: &str,
        extra_headers: &[(&str, &str)],
        body: &Value,
    ) -> RawReply {
        self.send_raw("POST", path, extra_headers, Some(body)).await
    }
}

/// A reply read off the socket: every header, in order, names lower-cased.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl RawReply {
    /// Every value of header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The `Set-Cookie` header setting cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.all("set-cookie")
            .into_iter()
            .find(|cookie| cookie.starts_with(&prefix))
    }
}
