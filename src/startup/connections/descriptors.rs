//! Fitting the connection cap to the process's open-file limit: each
//! connection is a descriptor, and a server out of descriptors can't even
//! accept a connection to refuse it.

use crate::config::ConnectionLimits;

/// Descriptors kept out of the connection cap: stdin, stdout and stderr, the
/// listener, the runtime's epoll and wake-up descriptors, SQLite's database,
/// WAL and shared-memory files, the Redis connection, the key file while it
/// is read, and a connection accepted only to be refused.
pub(super) const RESERVED: u64 = 64;

/// Raises the soft open-file limit to the hard limit (a process may, without
/// privileges) and returns the limit in force; `None` when it can't be read.
pub(super) fn raise_open_file_limit() -> Option<u64> {
    let before = rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            if let Some(before) = before
                && before < limit
            {
                tracing::info!(from = before, to = limit, "raised the open-file limit");
            }
            Some(limit)
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not read or raise the open-file limit");
            before
        }
    }
}

/// The caps that fit `open_files` descriptors: as configured, or lower, in
/// the configured proportion so that one client still can't hold them all.
pub(super) fn fit(limits: ConnectionLimits, open_files: u64) -> ConnectionLimits {
    let room = usize::try_from(open_files.saturating_sub(RESERVED).max(1)).unwrap_or(usize::MAX);
    if limits.max_open <= room {
        return limits;
    }
    let max_per_client = limits.max_per_client.saturating_mul(room) / limits.max_open;
    ConnectionLimits {
        max_open: room,
        max_per_client: max_per_client.max(1),
        ..limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_that_fit_are_kept() {
        let limits = ConnectionLimits::default();
        assert_eq!(fit(limits, 1_048_576), limits);
        assert_eq!(fit(limits, 1024 + RESERVED), limits);
    }

    #[test]
    fn caps_that_dont_fit_shrink_in_proportion() {
        let fitted = fit(ConnectionLimits::default(), 256);
        assert_eq!(fitted.max_open, 192);
        assert_eq!(fitted.max_per_client, 96);
        assert_eq!(
            fitted.header_read_timeout,
            ConnectionLimits::default().header_read_timeout
        );

        let behind_a_proxy = ConnectionLimits {
            max_per_client: 1024,
            ..ConnectionLimits::default()
        };
        assert_eq!(fit(behind_a_proxy, 256).max_per_client, 192);

        let tiny = fit(ConnectionLimits::default(), 10);
        assert_eq!((tiny.max_open, tiny.max_per_client), (1, 1));
    }
}
