//! Listing users, for operators (`auth-server user list`). An inherent
//! [`SeaStore`] method rather than a port: the service never lists users,
//! so no other store has to.

use std::collections::HashMap;

use auth_core::{StoreError, User};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::SeaStore;
use crate::entity::{flask_user_id, user};
use crate::error::unavailable;

/// A user in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListing {
    /// The user (its `Debug` hides the password hash).
    pub user: User,
    /// The Flask id it was imported from, if any.
    pub flask_id: Option<i64>,
}

impl SeaStore {
    /// One page of users, ordered by canonical username: at most `limit`
    /// of them whose canonical name sorts after `after` (all from the start
    /// when `None`). For the next page, pass the last one's
    /// `user.username.canonical()`. Keyset paging on the unique index: each
    /// page costs the same, however deep, and a user registered meanwhile
    /// is neither skipped nor listed twice.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], also for a row whose name no longer parses.
    pub async fn list_users(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<UserListing>, StoreError> {
        let mut query = user::Entity::find()
            .order_by_asc(user::Column::UsernameCanonical)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(user::Column::UsernameCanonical.gt(after));
        }
        let rows = query.all(&self.db).await.map_err(unavailable)?;
        let ids: Vec<uuid::Uuid> = rows.iter().map(|row| row.id).collect();
        let flask_ids: HashMap<uuid::Uuid, i64> = if ids.is_empty() {
            HashMap::new()
        } else {
            flask_user_id::Entity::find()
                .select_only()
                .column(flask_user_id::Column::UserId)
                .column(flask_user_id::Column::FlaskId)
                .filter(flask_user_id::Column::UserId.is_in(ids))
                .into_tuple::<(uuid::Uuid, i64)>()
                .all(&self.db)
                .await
                .map_err(unavailable)?
                .into_iter()
                .collect()
        };
        rows.into_iter()
            .map(|row| {
                let flask_id = flask_ids.get(&row.id).copied();
                Ok(UserListing {
                    user: row.into_domain()?,
                    flask_id,
                })
            })
            .collect()
    }
}
