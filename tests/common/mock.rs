//! A usage endpoint on 127.0.0.1, started by the test itself: counts requests, keeps their
//! raw bytes, and answers in whatever (mis)behaviour the test asks for.
//!
//! Like the real endpoint, it serves Claude Code's user agent only: any request whose
//! `User-Agent` does not start with `claude-code/` gets `429` with `retry-after: 0`, whatever the
//! test asked for (anthropics/claude-code#30930, #31021; the body is the real one quoted there,
//! `fixtures/error-429-wrong-user-agent.json`).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum Reply {
    /// status, extra headers, body
    Respond(u16, Vec<(String, String)>, Vec<u8>),
    /// Accept, read the request, never answer.
    Hang,
    /// Headers, then one body byte a second.
    Drip,
    /// Another reply, after a pause.
    After(Duration, Box<Reply>),
}

pub fn ok(body: &[u8]) -> Reply {
    Reply::Respond(
        200,
        vec![("Content-Type".into(), "application/json".into())],
        body.to_vec(),
    )
}

pub fn status(code: u16, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    Reply::Respond(
        code,
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body.to_vec(),
    )
}

pub struct Mock {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Vec<u8>>>>,
    pub reply: Arc<Mutex<Reply>>,
}

impl Mock {
    pub fn start(reply: Reply) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(Mutex::new(reply));
        let (reqs, rep) = (requests.clone(), reply.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (reqs, rep) = (reqs.clone(), rep.clone());
                std::thread::spawn(move || serve(stream, &reqs, &rep));
            }
        });
        Mock {
            port,
            requests,
            reply,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    pub fn request_text(&self, i: usize) -> String {
        String::from_utf8_lossy(&self.requests.lock().unwrap()[i]).into_owned()
    }

    /// The `User-Agent` of request `i`, if it sent one.
    pub fn user_agent(&self, i: usize) -> Option<String> {
        user_agent(&self.requests.lock().unwrap()[i])
    }
}

fn user_agent(request: &[u8]) -> Option<String> {
    String::from_utf8_lossy(request)
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("user-agent")
                .then(|| value.trim().to_string())
        })
}

/// What the real endpoint answers a client that is not Claude Code.
fn wrong_user_agent() -> Reply {
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/error-429-wrong-user-agent.json"),
    )
    .expect("fixture");
    status(429, &[("retry-after", "0")], &body)
}

fn serve(mut stream: TcpStream, requests: &Mutex<Vec<Vec<u8>>>, reply: &Mutex<Reply>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let claude_code = user_agent(&buf).is_some_and(|ua| ua.starts_with("claude-code/"));
    requests.lock().unwrap().push(buf);
    let reply = if claude_code {
        reply.lock().unwrap().clone()
    } else {
        wrong_user_agent()
    };
    answer(&mut stream, reply);
}

fn answer(stream: &mut TcpStream, reply: Reply) {
    match reply {
        Reply::Respond(code, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Hang => std::thread::sleep(Duration::from_secs(30)),
        Reply::After(pause, then) => {
            std::thread::sleep(pause);
            answer(stream, *then);
        }
        Reply::Drip => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
            for _ in 0..30 {
                if stream.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}
