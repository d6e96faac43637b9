//! The open WebSockets, by user and by client IP, and their caps.
//!
//! Every socket costs the server a file descriptor and a task. Without a cap one token opened hundreds of
//! sockets in seconds and, at tens of thousands, the process ran out of file descriptors and refused
//! every connection. So each user may hold at most [`SocketCaps::per_user`] sockets and each client IP at
//! most [`SocketCaps::per_ip`]. A new socket is always accepted: when it would exceed a cap, the oldest
//! socket of that user (or IP) is told to close ([`Registration::superseded`]), and its stream closes it
//! with close code 1008 (policy violation) and reason `too_many_connections`. So a phone that reconnects
//! after losing its network is never locked out by its own half-dead sockets, and no caller can grow the
//! server's sockets without bound. Closes are counted in `websocket_closed_by_cap_total{cap}`.

use doorstep_domain::UserId;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The close reason of a socket closed by a cap.
pub const TOO_MANY_CONNECTIONS: &str = "too_many_connections";

/// How many sockets may be open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketCaps {
    /// Per user (0 counts as 1).
    pub per_user: usize,
    /// Per client IP (0 counts as 1).
    pub per_ip: usize,
}

impl Default for SocketCaps {
    fn default() -> Self {
        SocketCaps {
            per_user: 5,
            per_ip: 50,
        }
    }
}

/// Which cap closed a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// Too many sockets of one user.
    User,
    /// Too many sockets from one client IP.
    Ip,
}

impl Cap {
    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Cap::User => "user",
            Cap::Ip => "ip",
        }
    }
}

/// One open socket in the registry.
#[derive(Debug)]
struct Entry {
    user: UserId,
    ip: Option<IpAddr>,
    /// Tells the socket's stream to close, and why.
    close: oneshot::Sender<Cap>,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    sockets: HashMap<u64, Entry>,
    /// Ids of each user's sockets; ids grow, so the first is the oldest.
    by_user: HashMap<UserId, BTreeSet<u64>>,
    by_ip: HashMap<IpAddr, BTreeSet<u64>>,
}

impl Registry {
    /// Forgets socket `id`, returning its entry if it was still registered.
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.sockets.remove(&id)?;
        if let Some(ids) = self.by_user.get_mut(&entry.user) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_user.remove(&entry.user);
            }
        }
        if let Some(ip) = entry.ip
            && let Some(ids) = self.by_ip.get_mut(&ip)
        {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_ip.remove(&ip);
            }
        }
        Some(entry)
    }
}

/// The registry of open sockets, shared by every handler (cheap to clone).
#[derive(Debug, Clone)]
pub struct OpenSockets {
    caps: SocketCaps,
    registry: Arc<Mutex<Registry>>,
}

/// A socket's place in the registry; dropping it unregisters the socket.
#[derive(Debug)]
pub struct Registration {
    id: u64,
    registry: Arc<Mutex<Registry>>,
    /// Resolves when a newer socket took this one's place under a cap.
    pub superseded: oneshot::Receiver<Cap>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.registry).remove(self.id);
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    // The registry is plain data: a panic elsewhere leaves it usable.
    registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl OpenSockets {
    /// An empty registry with `caps`.
    pub fn new(caps: SocketCaps) -> OpenSockets {
        OpenSockets {
            caps,
            registry: Arc::new(Mutex::new(Registry::default())),
        }
    }

    /// The caps in force.
    pub fn caps(&self) -> SocketCaps {
        self.caps
    }

    /// Registers a new socket of `user` from `ip` (unknown without connection info, and then only the
    /// per-user cap applies). Oldest sockets of the user, then of the IP, that would exceed a cap are told to
    /// close and leave the registry at once, so the counts never exceed the caps.
    pub fn register(&self, user: UserId, ip: Option<IpAddr>) -> Registration {
        let (close, superseded) = oneshot::channel();
        let mut registry = lock(&self.registry);
        let id = registry.next_id;
        registry.next_id += 1;
        let mut evicted = Vec::new();
        let per_user = self.caps.per_user.max(1);
        while registry.by_user.get(&user).map_or(0, BTreeSet::len) >= per_user {
            let Some(oldest) = registry
                .by_user
                .get(&user)
                .and_then(|ids| ids.first().copied())
            else {
                break;
            };
            evicted.extend(registry.remove(oldest).map(|e| (e, Cap::User)));
        }
        if let Some(ip) = ip {
            let per_ip = self.caps.per_ip.max(1);
            while registry.by_ip.get(&ip).map_or(0, BTreeSet::len) >= per_ip {
                let Some(oldest) = registry.by_ip.get(&ip).and_then(|ids| ids.first().copied())
                else {
                    break;
                };
                evicted.extend(registry.remove(oldest).map(|e| (e, Cap::Ip)));
            }
            registry.by_ip.entry(ip).or_default().insert(id);
        }
        registry.by_user.entry(user).or_default().insert(id);
        registry.sockets.insert(id, Entry { user, ip, close });
        drop(registry);
        for (entry, cap) in evicted {
            metrics::counter!("websocket_closed_by_cap_total", "cap" => cap.as_str()).increment(1);
            tracing::debug!(user_id = %entry.user, cap = cap.as_str(), "oldest websocket closed by a cap");
            // The socket may have ended on its own meanwhile.
            let _ = entry.close.send(cap);
        }
        Registration {
            id,
            registry: Arc::clone(&self.registry),
            superseded,
        }
    }

    /// How many sockets are registered (for tests and metrics).
    pub fn len(&self) -> usize {
        lock(&self.registry).sockets.len()
    }

    /// Whether no socket is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::from_uuid(uuid::Uuid::now_v7())
    }

    #[test]
    fn a_user_over_the_cap_loses_its_oldest_socket_and_keeps_the_newest() {
        let sockets = OpenSockets::new(SocketCaps {
            per_user: 2,
            per_ip: 100,
        });
        let (ann, ip) = (user(), Some(IpAddr::from([10, 0, 0, 1])));
        let mut first = sockets.register(ann, ip);
        let mut second = sockets.register(ann, ip);
        assert!(first.superseded.try_recv().is_err(), "within the cap");
        let mut third = sockets.register(ann, ip);
        assert_eq!(first.superseded.try_recv(), Ok(Cap::User));
        assert!(second.superseded.try_recv().is_err());
        assert!(third.superseded.try_recv().is_err());
        assert_eq!(sockets.len(), 2);
        // The superseded socket's end does not unregister a newer one.
        drop(first);
        assert_eq!(sockets.len(), 2);
        drop((second, third));
        assert!(sockets.is_empty());
    }

    #[test]
    fn an_ip_over_the_cap_loses_its_oldest_socket_whoever_holds_it() {
        let sockets = OpenSockets::new(SocketCaps {
            per_user: 5,
            per_ip: 2,
        });
        let ip = Some(IpAddr::from([10, 0, 0, 2]));
        let mut a = sockets.register(user(), ip);
        let mut b = sockets.register(user(), ip);
        let mut elsewhere = sockets.register(user(), Some(IpAddr::from([10, 0, 0, 3])));
        let mut c = sockets.register(user(), ip);
        assert_eq!(a.superseded.try_recv(), Ok(Cap::Ip));
        assert!(b.superseded.try_recv().is_err());
        assert!(c.superseded.try_recv().is_err());
        assert!(elsewhere.superseded.try_recv().is_err());
        assert_eq!(sockets.len(), 3);
    }
}
