//! A hostile HTTP server on loopback: each test scripts what it answers,
//! byte for byte, to check that jobgate fails closed against servers that
//! misbehave (hang, stall, trickle, endless bodies, redirects, echoed
//! headers, injected workflow commands, control bytes, deep JSON, bad
//! totals, inconsistent pages).
//!
//! It speaks raw HTTP/1.1 over TCP, so a reply can be anything, including
//! what no well-behaved server library would send. Every connection carries
//! one exchange and is closed after it (`Connection: close`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The image job the hostile tests ask for.
pub const JOB: &str = "800000000000000001";

/// An answer about [`JOB`] in `status`, with no sub-jobs.
pub fn job(status: &str) -> Reply {
    Reply::json(format!(
        r#"{{"id":"{JOB}","status":"{status}","job_type":"CREATE_IMAGE","sub_jobs":[]}}"#
    ))
}

/// A spec with one wait, `build`, for [`JOB`] to be SUCCESS within 10 s.
pub fn one_wait() -> String {
    format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// 0 for the first request the server read, then 1, 2...
    pub seq: usize,
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The raw query (without `?`), empty if none.
    pub query: String,
    /// Header names in lower case, values as sent.
    pub headers: Vec<(String, String)>,
    /// The whole request head as received, for echoing.
    pub head: String,
}

impl Seen {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a query parameter, undecoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete answer: status, extra headers and body
    /// (`Content-Length` and `Connection: close` are added).
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// These exact bytes, then close: for malformed HTTP.
    Raw(Vec<u8>),
    /// Accept and never answer (the connection stays open until the test ends).
    Hang,
    /// Close the connection without a byte.
    Close,
    /// Send the head of a 200 JSON answer and then `chunk` every `every`,
    /// forever (a stalling or trickling server).
    Trickle { chunk: Vec<u8>, every: Duration },
    /// A 200 without `Content-Length` whose body never ends (`{"a":"xxxx...`).
    Endless,
    /// Sleep, then do the other reply.
    Delayed(Duration, Box<Reply>),
}

impl Reply {
    /// `200 OK` with a JSON body.
    pub fn json(body: impl Into<String>) -> Reply {
        Reply::status_json(200, body)
    }

    /// Any status with a JSON body.
    pub fn status_json(status: u16, body: impl Into<String>) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into().into_bytes(),
        }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    /// Adds a header to a [`Reply::Full`].
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A scripted server running on its own runtime for the length of a test.
pub struct Hostile {
    runtime: Option<tokio::runtime::Runtime>,
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Hostile {
    /// Starts a server on `127.0.0.1` that answers every request with what
    /// `script` returns for it.
    pub fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Hostile {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, log) = (script.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &*script, &log).await;
                });
            }
        });
        Hostile {
            runtime: Some(runtime),
            addr,
            seen,
        }
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request read so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn serve(
    mut stream: TcpStream,
    script: &Script,
    log: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    // Read the head (jobgate sends no request bodies on the job API; any
    // body after the head is read and ignored up to Content-Length).
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body_read = buf.len() - head_end;
    while body_read < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body_read += n;
    }
    let seen = {
        let mut log = log.lock().unwrap();
        let seen = Seen {
            seq: log.len(),
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            head: head.clone(),
        };
        log.push(seen.clone());
        seen
    };
    let reply = script(&seen);
    answer(&mut stream, reply).await
}

async fn answer(stream: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    let mut reply = reply;
    while let Reply::Delayed(pause, next) = reply {
        tokio::time::sleep(pause).await;
        reply = *next;
    }
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            stream.write_all(out.as_bytes()).await?;
            stream.write_all(&body).await?;
            stream.shutdown().await
        }
        Reply::Raw(bytes) => {
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        }
        Reply::Hang => {
            std::future::pending::<()>().await;
            Ok(())
        }
        Reply::Close => Ok(()),
        Reply::Trickle { chunk, every } => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
                .await?;
            loop {
                stream.write_all(&chunk).await?;
                tokio::time::sleep(every).await;
            }
        }
        Reply::Endless => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"a\":\"")
                .await?;
            let block = vec![b'x'; 64 * 1024];
            loop {
                stream.write_all(&block).await?;
            }
        }
        Reply::Delayed(..) => unreachable!("unwrapped above"),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
