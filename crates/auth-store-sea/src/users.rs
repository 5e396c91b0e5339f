//! [`UserRepository`] for [`SeaStore`]: each method one statement on the
//! `users` table.

use auth_core::{
    AccountKey, EmailAddress, PasswordHash, QueuedMail, StoreError, User, UserId, UserRepository,
    Username,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Value};

use crate::entity::user;
use crate::error::{create_user_failed, is_unique_violation, unavailable};
use crate::{SeaStore, stored_instant};

impl UserRepository for SeaStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.bounded(async {
            // A plain INSERT: the unique indexes on username_canonical,
            // skeleton and email_canonical decide, atomically; which one a
            // violation hit is asked afterwards.
            let inserted = user::Entity::insert(user::ActiveModel::from_domain(user))
                .exec_without_returning(&self.db)
                .await;
            let Err(error) = inserted else {
                return Ok(());
            };
            let email_taken = match (&user.email, is_unique_violation(&error)) {
                (Some(email), true) => self.email_holder(&email.address).await?.is_some(),
                _ => false,
            };
            Err(create_user_failed(error, email_taken))
        })
        .await
    }

    async fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.bounded(async {
            let row = user::Entity::find()
                .filter(user::Column::UsernameCanonical.eq(username.canonical()))
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(user::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn find_user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        self.bounded(async {
            let row = user::Entity::find()
                .filter(user::Column::EmailCanonical.eq(email.canonical()))
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(user::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn change_email(
        &self,
        id: UserId,
        email: &EmailAddress,
        updated_at: DateTime<Utc>,
        mail: &[QueuedMail],
    ) -> Result<bool, StoreError> {
        self.bounded(crate::outbox::change_email(
            &self.db, id, email, updated_at, mail,
        ))
        .await
    }

    async fn mark_email_verified(
        &self,
        id: UserId,
        email: &EmailAddress,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let result = user::Entity::update_many()
                .col_expr(user::Column::EmailVerified, Expr::value(true))
                .filter(user::Column::Id.eq(*id.as_uuid()))
                .filter(user::Column::EmailCanonical.eq(email.canonical()))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected > 0)
        })
        .await
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.bounded(async {
            let row = user::Entity::find_by_id(*id.as_uuid())
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(user::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let result = user::Entity::update_many()
                .col_expr(user::Column::PasswordHash, Expr::value(hash.as_str()))
                .col_expr(
                    user::Column::UpdatedAt,
                    Expr::value(Value::from(stored_instant(updated_at))),
                )
                .filter(user::Column::Id.eq(*id.as_uuid()))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected > 0)
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            // The condition makes the UPDATE the compare-and-swap.
            let result = user::Entity::update_many()
                .col_expr(user::Column::PasswordHash, Expr::value(new.as_str()))
                .col_expr(
                    user::Column::UpdatedAt,
                    Expr::value(Value::from(stored_instant(updated_at))),
                )
                .filter(user::Column::Id.eq(*id.as_uuid()))
                .filter(user::Column::PasswordHash.eq(current.as_str()))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected > 0)
        })
        .await
    }

    async fn delete_user(&self, id: UserId, account: &AccountKey) -> Result<bool, StoreError> {
        self.bounded(self.delete_account_rows(id, account)).await
    }
}

impl SeaStore {
    /// The id of the user holding `email`, if any.
    async fn email_holder(&self, email: &EmailAddress) -> Result<Option<uuid::Uuid>, StoreError> {
        user::Entity::find()
            .filter(user::Column::EmailCanonical.eq(email.canonical()))
            .select_only()
            .column(user::Column::Id)
            .into_tuple::<uuid::Uuid>()
            .one(&self.db)
            .await
            .map_err(unavailable)
    }
}
