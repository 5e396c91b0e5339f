//! Prints a TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).

fn main() -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    Ok(())
}
