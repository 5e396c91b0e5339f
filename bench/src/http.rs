//! Just enough HTTP/1.1 for the bench clients: one request at a time on a
//! keep-alive connection, responses framed by `Content-Length`, chunked
//! encoding or end of stream.

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What the bench needs to know about a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The server will close the connection (or has): open a new one.
    pub close: bool,
}

/// A `GET` request with extra header lines (`Name: value`), as bytes.
pub fn get_request(host: &str, path: &str, headers: &[String]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// A `POST` request with a JSON body and extra header lines, as bytes.
pub fn post_json_request(host: &str, path: &str, headers: &[String], body: &str) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    request.into_bytes()
}

/// Sends `request` and reads the whole response. `buf` is scratch space,
/// reused between calls.
///
/// # Errors
/// I/O errors, a connection closed early, or a response that does not parse.
pub async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> anyhow::Result<Response> {
    stream.write_all(request).await?;
    read_response(stream, buf).await
}

/// Reads one response from `stream`.
///
/// # Errors
/// As [`exchange`].
pub async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<Response> {
    buf.clear();
    let head_end = loop {
        if let Some(position) = find(buf, 0, b"\r\n\r\n") {
            break position + 4;
        }
        if read_more(stream, buf).await? == 0 {
            bail!("connection closed before the response head");
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let (mut content_length, mut chunked, mut close) = (None, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => {
                content_length = Some(value.parse::<usize>().context("bad Content-Length")?);
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    if chunked {
        read_chunked(stream, buf, head_end).await?;
    } else if let Some(length) = content_length {
        while buf.len() < head_end + length {
            if read_more(stream, buf).await? == 0 {
                bail!("connection closed inside the body");
            }
        }
    } else {
        // No framing: the body ends with the connection.
        while read_more(stream, buf).await? > 0 {}
        close = true;
    }
    Ok(Response { status, close })
}

async fn read_chunked(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    mut position: usize,
) -> anyhow::Result<()> {
    loop {
        let line_end = loop {
            if let Some(end) = find(buf, position, b"\r\n") {
                break end;
            }
            if read_more(stream, buf).await? == 0 {
                bail!("connection closed inside a chunk header");
            }
        };
        let line = std::str::from_utf8(&buf[position..line_end]).context("chunk header")?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).context("bad chunk size")?;
        // The chunk, then its CRLF (for the last chunk: the final CRLF, no trailers expected).
        let needed = line_end + 2 + size + 2;
        while buf.len() < needed {
            if read_more(stream, buf).await? == 0 {
                bail!("connection closed inside a chunk");
            }
        }
        if size == 0 {
            return Ok(());
        }
        position = needed;
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<usize> {
    let mut chunk = [0u8; 8192];
    let read = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..read]);
    Ok(read)
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| position + from)
}

/// The `p`-th percentile (0–100) of sorted values, nearest rank.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}
