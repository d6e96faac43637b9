//! Network namespaces for the failover test's partition (issue 13, item 5's optional part): each node
//! runs in its own namespace (`ip netns`), joined to the test's namespace by two veth pairs. Link `a`
//! carries the clients' requests and the node's PostgreSQL connections, link `b` its NATS connections.
//! PostgreSQL and NATS listen on the machine's loopback, which a namespace cannot reach, so the test
//! forwards each link's port to them (plain TCP copies). Taking a link down is a real cut: packets are
//! dropped, no connection is reset, and each side finds out only by its own timeouts.
//!
//! Needs root (or `CAP_NET_ADMIN`) and iproute2's `ip`. [`Netns::set_up`] says why it cannot.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A node's two links to the test's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Clients and PostgreSQL.
    A,
    /// NATS.
    B,
}

impl Link {
    fn index(self) -> u8 {
        match self {
            Link::A => 0,
            Link::B => 1,
        }
    }
}

/// The namespaces of `nodes` nodes, their links and forwarders; all removed when dropped.
#[derive(Debug)]
pub struct Netns {
    tag: String,
    nodes: usize,
    net: (u8, u8),
    /// This side's address of each node's link `a` forwarder to PostgreSQL, then of link `b`'s to NATS.
    postgres: Vec<SocketAddr>,
    nats: Vec<SocketAddr>,
    forwarders: Vec<JoinHandle<()>>,
}

fn ip(args: &[&str]) -> TestResult {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(())
}

impl Netns {
    /// Namespaces for `nodes` nodes, named after `tag` (letters and digits, at most 8), with each
    /// node's links forwarded to `postgres` and `nats` (`host:port` on this machine).
    pub async fn set_up(tag: &str, nodes: usize, postgres: &str, nats: &str) -> TestResult<Netns> {
        let bytes = tag.as_bytes();
        // A /24 of 10/8 picked by the tag, so two runs at once do not share addresses.
        let net = (
            100 + bytes
                .iter()
                .fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(*b))
                % 100,
            bytes
                .iter()
                .rev()
                .fold(7u8, |a, b| a.wrapping_mul(17).wrapping_add(*b)),
        );
        let mut netns = Netns {
            tag: tag.to_owned(),
            nodes: 0,
            net,
            postgres: Vec::new(),
            nats: Vec::new(),
            forwarders: Vec::new(),
        };
        for i in 0..nodes {
            let ns = netns.name(i);
            ip(&["netns", "add", &ns])?;
            netns.nodes = i + 1;
            ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"])?;
            for link in [Link::A, Link::B] {
                let (here, there) = (netns.veth(i, link, true), netns.veth(i, link, false));
                ip(&["link", "add", &here, "type", "veth", "peer", "name", &there])?;
                ip(&["link", "set", &there, "netns", &ns])?;
                ip(&[
                    "addr",
                    "add",
                    &format!("{}/30", netns.addr(i, link, true)),
                    "dev",
                    &here,
                ])?;
                ip(&["link", "set", &here, "up"])?;
                let there_addr = format!("{}/30", netns.addr(i, link, false));
                ip(&[
                    "netns",
                    "exec",
                    &ns,
                    "ip",
                    "addr",
                    "add",
                    &there_addr,
                    "dev",
                    &there,
                ])?;
                ip(&["netns", "exec", &ns, "ip", "link", "set", &there, "up"])?;
            }
            let (pg, task) = forward(netns.addr(i, Link::A, true), postgres.to_owned()).await?;
            netns.postgres.push(pg);
            netns.forwarders.push(task);
            let (bus, task) = forward(netns.addr(i, Link::B, true), nats.to_owned()).await?;
            netns.nats.push(bus);
            netns.forwarders.push(task);
        }
        Ok(netns)
    }

    /// Node `i`'s namespace.
    pub fn name(&self, i: usize) -> String {
        format!("ds-{}-{i}", self.tag)
    }

    /// The veth of node `i`'s `link` on this side (`here`) or in the node's namespace.
    fn veth(&self, i: usize, link: Link, here: bool) -> String {
        format!(
            "ds{}{}{i}{}",
            if here { 'h' } else { 'n' },
            self.tag,
            link.index()
        )
    }

    fn addr(&self, i: usize, link: Link, here: bool) -> Ipv4Addr {
        let base = u8::try_from(16 * i).expect("few nodes") + 4 * link.index();
        Ipv4Addr::new(10, self.net.0, self.net.1, base + if here { 1 } else { 2 })
    }

    /// Where clients reach node `i` (its link `a`), for a node listening on `port` in its namespace.
    pub fn node_addr(&self, i: usize, port: u16) -> SocketAddr {
        SocketAddr::from((self.addr(i, Link::A, false), port))
    }

    /// Node `i`'s way to PostgreSQL (over link `a`).
    pub fn postgres_for(&self, i: usize) -> SocketAddr {
        self.postgres[i]
    }

    /// Node `i`'s way to NATS (over link `b`).
    pub fn nats_for(&self, i: usize) -> SocketAddr {
        self.nats[i]
    }

    /// Takes node `i`'s `link` down: from now on its packets are dropped.
    pub fn cut(&self, i: usize, link: Link) -> TestResult {
        ip(&["link", "set", &self.veth(i, link, true), "down"])
    }

    /// Brings node `i`'s `link` back.
    pub fn heal(&self, i: usize, link: Link) -> TestResult {
        ip(&["link", "set", &self.veth(i, link, true), "up"])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for task in &self.forwarders {
            task.abort();
        }
        for i in 0..self.nodes {
            // Deleting a namespace deletes the veths in it, and so their peers here.
            let _ = ip(&["netns", "del", &self.name(i)]);
            for link in [Link::A, Link::B] {
                let _ = Command::new("ip")
                    .args(["link", "del", &self.veth(i, link, true)])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

/// Listens on `at` (any port) and copies every connection to and from `to`.
async fn forward(at: Ipv4Addr, to: String) -> TestResult<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind((at, 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        // Dropped with the accept loop, which aborts every connection's copy.
        let mut copies = JoinSet::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            let to = to.clone();
            copies.spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
            while copies.try_join_next().is_some() {}
        }
    });
    Ok((addr, task))
}
