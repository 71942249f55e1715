//! A tiny authoritative DNS server for tests, on 127.0.0.1 (UDP, random port): answers A for
//! the names it was given, NODATA for their AAAA, NXDOMAIN for everything else — or, in
//! `Silent` mode, never answers (a resolver that times out).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::net::UdpSocket;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Answer,
    Silent,
}

pub struct TestDns {
    pub addr: SocketAddr,
    pub queries: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestDns {
    /// Serves `records` (domain without trailing dot → IPv4 address).
    pub async fn start(records: HashMap<String, Ipv4Addr>, mode: Mode) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind test DNS server");
        let addr = socket.local_addr().expect("local addr");
        let queries = Arc::new(AtomicU64::new(0));
        let counter = queries.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if mode == Mode::Silent {
                    continue;
                }
                let Ok(request) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut response = Message::response(request.metadata.id, request.metadata.op_code);
                response.metadata.authoritative = true;
                response.metadata.recursion_desired = request.metadata.recursion_desired;
                response.metadata.recursion_available = true;
                if let Some(query) = request.queries.first() {
                    response.add_query(query.clone());
                    let name = query.name.to_ascii().trim_end_matches('.').to_lowercase();
                    match records.get(&name) {
                        Some(ip) if query.query_type == RecordType::A => {
                            response.add_answer(Record::from_rdata(
                                query.name.clone(),
                                60,
                                RData::A(A(*ip)),
                            ));
                        }
                        Some(_) => {} // NODATA
                        None => response.metadata.response_code = ResponseCode::NXDomain,
                    }
                }
                if let Ok(bytes) = response.to_vec() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        Self {
            addr,
            queries,
            task,
        }
    }
}
