//! The reference store runs the storage contract, the revocation log's and
//! the one-time tokens' too.

auth_core::store_conformance!(|| async { Some(auth_core::MemoryStore::new()) });

auth_core::revocation_log_conformance!(|| async { Some(auth_core::MemoryStore::new()) });

auth_core::one_time_token_conformance!(|| async { Some(auth_core::MemoryStore::new()) });
auth_core::mail_conformance!(|| async { Some(auth_core::MemoryStore::new()) });
auth_core::mfa_conformance!(|| async { Some(auth_core::MemoryStore::new()) });
auth_core::passkey_conformance!(|| async { Some(auth_core::MemoryStore::new()) });
auth_core::admin_conformance!(|| async { Some(auth_core::MemoryStore::new()) });
