//! The axum example (examples/axum.rs, included here) on a loopback port, driven by raw
//! HTTP/1.1: the handler sees the chosen virtual host, and what the layer refuses never reaches
//! the router.

#[path = "../examples/axum.rs"]
mod example;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn send(port: u16, head: &str) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out))
        .await
        .expect("the server answers and closes")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn axum_handlers_get_the_chosen_virtual_host_and_never_a_refused_request() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(example::serve(listener, example::server(port)));
    let request =
        |host: &str| format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");

    let a = send(port, &request(&format!("a.example.test:{port}"))).await;
    assert!(
        a.starts_with("HTTP/1.1 200") && a.ends_with("hello from site a\n"),
        "{a}"
    );
    let b = send(port, &request(&format!("B.Example.Test.:{port}"))).await;
    assert!(
        b.starts_with("HTTP/1.1 200") && b.ends_with("hello from site b\n"),
        "{b}"
    );

    let unknown = send(port, &request(&format!("elsewhere.test:{port}"))).await;
    assert!(unknown.starts_with("HTTP/1.1 421"), "{unknown}");
    assert!(!unknown.contains("hello from"), "{unknown}");
    let other_port = send(port, &request("a.example.test:1")).await;
    assert!(other_port.starts_with("HTTP/1.1 421"), "{other_port}");
    let two_hosts = send(
        port,
        &format!(
            "GET / HTTP/1.1\r\nHost: a.example.test:{port}\r\nHost: b.example.test:{port}\r\n\r\n"
        ),
    )
    .await;
    assert!(two_hosts.starts_with("HTTP/1.1 400"), "{two_hosts}");
}
