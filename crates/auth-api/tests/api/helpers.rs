//! `spawn_app()`: the real app over a fresh, migrated SQLite file, with cheap
//! scrypt parameters and a manual clock; one method per route.

use std::sync::Arc;
use std::time::Duration;

use auth_api::cookie::CookieSettings;
use auth_api::{HttpSettings, build_app};
use auth_core::{
    Authenticator, HashConfig, ManualClock, PasswordHasher, ScryptParams, SessionCache,
    SessionPolicy, ThrottlePolicy,
};
use auth_store_sea::{SeaStore, StoreOptions};
use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::{EndpointExt, Response};
use serde_json::{Value, json};

/// A password that passes the default policy.
pub const GOOD_PASSWORD: &str = "tangerine maple orbit 42";

pub struct TestApp {
    pub client: TestClient<BoxEndpoint<'static, Response>>,
    pub endpoint: std::sync::Arc<BoxEndpoint<'static, Response>>,
    pub database_url: String,
    pub clock: ManualClock,
    pub store: SeaStore,
    pub session_policy: SessionPolicy,
    _dir: tempfile::TempDir,
}

/// Knobs a test may turn before the app is built.
pub struct Options {
    pub hash: HashConfig,
    pub cookie_secure: bool,
    pub max_body_bytes: usize,
    pub throttle: ThrottlePolicy,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub cors_origins: Vec<String>,
    /// Reuse this database file (a second "instance" on the same data).
    pub database_url: Option<String>,
    /// The in-process session cache (on by default, as in production).
    pub session_cache: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            hash: HashConfig {
                params: ScryptParams::insecure_fast_for_tests(),
                max_concurrent: 2,
                max_queued: 64,
                ..HashConfig::default()
            },
            cookie_secure: false,
            max_body_bytes: 64 * 1024,
            throttle: ThrottlePolicy::default(),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            database_url: None,
            session_cache: true,
        }
    }
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
    let store = SeaStore::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let clock = ManualClock::default();
    let session_policy = SessionPolicy::default();
    let hasher = PasswordHasher::new(options.hash).unwrap();
    let auth = Authenticator::new(store.clone(), hasher, Arc::new(clock.clone()))
        .with_session_policy(session_policy)
        .with_throttle_policy(options.throttle)
        .with_session_cache(if options.session_cache {
            SessionCache::new(1_000, Duration::from_secs(60))
        } else {
            SessionCache::disabled()
        });
    let app = build_app(
        auth,
        HttpSettings {
            cookie: CookieSettings {
                secure: options.cookie_secure,
                max_age: session_policy.absolute_timeout,
            },
            max_body_bytes: options.max_body_bytes,
            trusted_proxies: options.trusted_proxies,
            cors_origins: auth_api::cors::CorsOrigins::parse(&options.cors_origins).unwrap(),
        },
    )
    .map_to_response()
    .boxed();
    let endpoint = std::sync::Arc::new(app);
    TestApp {
        client: TestClient::new(SharedEndpoint(endpoint.clone()).boxed()),
        endpoint,
        database_url: url,
        clock,
        store,
        session_policy,
        _dir: dir,
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

/// The app's endpoint, shared by the in-process client and a real socket.
struct SharedEndpoint(std::sync::Arc<BoxEndpoint<'static, Response>>);

impl poem::Endpoint for SharedEndpoint {
    type Output = Response;
    async fn call(&self, req: poem::Request) -> poem::Result<Response> {
        self.0.call(req).await
    }
}

impl TestApp {
    /// Serves the app on 127.0.0.1:<free port> (for what only a socket shows:
    /// the peer address). The server stops when the returned handle is dropped.
    pub async fn serve_on_socket(&self) -> Served {
        use poem::listener::{Acceptor as _, Listener as _};
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let endpoint = SharedEndpoint(self.endpoint.clone());
        let task = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor)
                .run(endpoint)
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
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let body = body.to_string();
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
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
        let (_, payload) = raw.split_once("\r\n\r\n").unwrap();
        (status, serde_json::from_str(payload).unwrap_or(Value::Null))
    }
}
