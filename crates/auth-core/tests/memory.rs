//! The reference store runs the storage contract.

auth_core::store_conformance!(|| async { Some(auth_core::MemoryStore::new()) });
