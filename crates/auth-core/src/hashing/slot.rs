//! [`HashSlot`], a reserved place on the hashing pool, and the
//! [`HashPurpose`] that decides which places a job may take.

use std::fmt;

use super::pool::{Class, Reservation};
use super::{HashError, PasswordHash, PasswordHasher, Verification};
use crate::Password;

/// What a hashing job is for, which decides the places it may take
/// ([`PasswordHasher::reserve`]).
///
/// Logins must keep working while someone floods registration: a
/// [`HashPurpose::SetPassword`] job may hold every admitted place but one per
/// hashing thread (at least one), and a waiting login starts before any waiting
/// password-setting job. With a pool of one thread and no queue there is
/// one place only, and a password change can still take it.
///
/// ```
/// use auth_core::{HashConfig, HashError, HashPurpose, PasswordHasher, ScryptParams};
///
/// // 1 thread + 1 waiting: 2 places, at most 1 of them for setting passwords.
/// let hasher = PasswordHasher::new(HashConfig {
///     params: ScryptParams::insecure_fast_for_tests(),
///     max_concurrent: 1,
///     max_queued: 1,
///     ..HashConfig::default()
/// })?;
/// let registration = hasher.reserve(HashPurpose::SetPassword)?;
/// assert!(matches!(hasher.reserve(HashPurpose::SetPassword), Err(HashError::Overloaded)));
/// let login = hasher.reserve(HashPurpose::Login)?;
/// # drop((registration, login));
/// # Ok::<(), HashError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashPurpose {
    /// Checking a password to let someone in: a login, or the dummy
    /// verification of an unknown user (which must cost the same). May take
    /// every place, and goes first.
    Login,
    /// Hashing a new password: registration, a password change or reset.
    /// Leaves one place per hashing thread to logins, and waits while logins wait.
    SetPassword,
}

impl HashPurpose {
    pub(super) fn class(self) -> Class {
        match self {
            Self::Login => Class::Primary,
            Self::SetPassword => Class::Secondary,
        }
    }
}

/// A reserved place in the hashing queue, from [`PasswordHasher::reserve`]:
/// the job it runs is never refused for lack of room (only, as
/// [`HashError::Overloaded`], when it waited longer than
/// [`crate::HashConfig::queue_timeout`]). Dropped unused, it frees the place;
/// so does a caller that stops waiting while the job is queued.
#[must_use = "a slot holds a place in the hashing queue until it is used or dropped"]
pub struct HashSlot {
    hasher: PasswordHasher,
    reservation: Reservation,
}

impl fmt::Debug for HashSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashSlot").finish_non_exhaustive()
    }
}

impl HashSlot {
    pub(super) fn new(hasher: PasswordHasher, reservation: Reservation) -> Self {
        Self {
            hasher,
            reservation,
        }
    }

    /// Hashes a new password in this slot.
    ///
    /// # Errors
    /// [`HashError::Overloaded`] if it waited too long for a thread;
    /// [`HashError::Failed`] if scrypt, the OS random source or the hashing
    /// threads fail.
    pub async fn hash(self, password: Password) -> Result<PasswordHash, HashError> {
        let HashSlot {
            hasher,
            reservation,
        } = self;
        reservation
            .run(move || hasher.hash_blocking(&password))
            .await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no user (`None`), so both cases do the same work. A match on
    /// an outdated hash also computes its replacement, in the same slot.
    ///
    /// # Errors
    /// [`HashError::UnusableHash`] for a stored hash that cannot be checked
    /// (after spending the same time as a real check);
    /// [`HashError::Overloaded`] if it waited too long for a thread;
    /// [`HashError::Failed`] if the hashing threads fail.
    pub async fn verify(
        self,
        password: Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verification, HashError> {
        let HashSlot {
            hasher,
            reservation,
        } = self;
        let stored = stored.cloned();
        reservation
            .run(move || hasher.verify_blocking(&password, stored.as_ref()))
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashConfig;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_setting_jobs_cannot_take_the_places_kept_for_logins() {
        // Arrange: 1 thread + 3 waiting = 4 places, 3 for setting passwords.
        let hasher = PasswordHasher::new(HashConfig {
            max_concurrent: 1,
            max_queued: 3,
            ..HashConfig::insecure_fast_for_tests()
        })
        .unwrap();
        let stored = hasher
            .hash_blocking(&Password::new("a long secret phrase"))
            .unwrap();
        // Act: registrations take what they may.
        let held: Vec<_> = (0..3)
            .map(|_| hasher.reserve(HashPurpose::SetPassword).unwrap())
            .collect();
        // Assert: the next one is refused, logins still get in and verify.
        assert!(matches!(
            hasher.hash(Password::new("one more registration")).await,
            Err(HashError::Overloaded)
        ));
        // The one place left is a login's.
        let outcome = hasher
            .verify(Password::new("a long secret phrase"), Some(&stored))
            .await
            .unwrap();
        assert_eq!(outcome, Verification::Match { rehashed: None });
        assert!(matches!(
            hasher.verify(Password::new("wrong"), None).await,
            Ok(Verification::Mismatch)
        ));
        assert_eq!(hasher.rejected(), 1);
        drop(held);
        assert_eq!(hasher.in_flight(), 0);
    }
}
