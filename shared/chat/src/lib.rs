//! Chat rules and storage, shared by the API (REST) and the hub (websocket), so that
//! both enforce the same rules and write messages the same way: stored first, with an
//! outbox event in the same transaction that the relay turns into real-time delivery.
//!
//! Who may talk: in a class conversation, the class's teacher and its students; in a
//! direct conversation, a student with a teacher of one of their classes, a parent with
//! a teacher of one of their children's classes (either side may start it); admins may
//! open a direct conversation with anyone.

use chrono::{DateTime, Utc};
use nexus_auth::Role;
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

pub const MAX_BODY_CHARS: usize = 4000;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("conversation not found")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    /// A student under 15 without a linked parent's consent (issue #17).
    #[error("parental consent required")]
    ConsentRequired,
    #[error("invalid: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub id: i64,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: i64,
    pub conversation_id: i64,
    pub sender_id: Option<i64>,
    pub sender_name: Option<String>,
    pub client_message_id: String,
    /// Empty once deleted by a moderator.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub deleted: bool,
}

const MESSAGE_VIEW: &str = "select m.id, m.conversation_id, m.sender_id,
        u.first_name || ' ' || u.last_name as sender_name, m.client_message_id,
        case when m.deleted_at is null then m.body else '' end as body, m.created_at,
        m.deleted_at is not null as deleted
    from messages m left join users u on u.id = m.sender_id";

/// The members of a conversation (who receives its events); `None` if it does not exist.
pub async fn members(
    conn: &mut PgConnection,
    conversation_id: i64,
) -> sqlx::Result<Option<Vec<i64>>> {
    let class_id: Option<Option<i64>> =
        sqlx::query_scalar("select class_id from conversations where id = $1")
            .bind(conversation_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(class_id) = class_id else {
        return Ok(None);
    };
    let members = match class_id {
        Some(class_id) => {
            sqlx::query_scalar(
                "select teacher_id from classes where id = $1
                 union select student_id from class_members where class_id = $1",
            )
            .bind(class_id)
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "select user_id from conversation_participants where conversation_id = $1",
            )
            .bind(conversation_id)
            .fetch_all(conn)
            .await?
        }
    };
    Ok(Some(members))
}

/// The members, if `user` is one of them. Admins are not members of other people's
/// conversations: they read one only through `review`, which is recorded.
pub async fn ensure_member(
    conn: &mut PgConnection,
    user: Member,
    conversation_id: i64,
) -> Result<Vec<i64>, ChatError> {
    let members = members(conn, conversation_id)
        .await?
        .ok_or(ChatError::NotFound)?;
    if members.contains(&user.id) {
        Ok(members)
    } else {
        Err(ChatError::NotFound)
    }
}

/// May `a` open a direct conversation with `b`?
pub async fn may_talk(conn: &mut PgConnection, a: Member, b: Member) -> sqlx::Result<bool> {
    if a.id == b.id {
        return Ok(false);
    }
    let (teacher, other) = match (a.role, b.role) {
        (Role::Admin, _) | (_, Role::Admin) => return Ok(true),
        (Role::Teacher, Role::Student | Role::Parent) => (a, b),
        (Role::Student | Role::Parent, Role::Teacher) => (b, a),
        _ => return Ok(false),
    };
    sqlx::query_scalar(
        "select exists(
            select 1 from classes c join class_members m on m.class_id = c.id
            where c.teacher_id = $1 and (m.student_id = $2
                or m.student_id in (select student_id from parent_links where parent_id = $2)))",
    )
    .bind(teacher.id)
    .bind(other.id)
    .fetch_one(conn)
    .await
}

/// The direct conversation between two people, created on first use.
pub async fn direct_conversation(pool: &PgPool, a: Member, b: Member) -> Result<i64, ChatError> {
    let mut tx = pool.begin().await?;
    if !may_talk(&mut tx, a, b).await? {
        return Err(ChatError::Forbidden);
    }
    // Serialise creation for this pair so two first messages make one conversation.
    let (low, high) = (a.id.min(b.id), a.id.max(b.id));
    sqlx::query("select pg_advisory_xact_lock($1::bigint # ($2::bigint << 20))")
        .bind(low)
        .bind(high)
        .execute(&mut *tx)
        .await?;
    let existing: Option<i64> = sqlx::query_scalar(
        "select c.id from conversations c
         where c.kind = 'direct'
           and exists(select 1 from conversation_participants p where p.conversation_id = c.id and p.user_id = $1)
           and exists(select 1 from conversation_participants p where p.conversation_id = c.id and p.user_id = $2)",
    )
    .bind(low)
    .bind(high)
    .fetch_optional(&mut *tx)
    .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            let id: i64 = sqlx::query_scalar(
                "insert into conversations (kind, created_by) values ('direct', $1) returning id",
            )
            .bind(a.id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("insert into conversation_participants (conversation_id, user_id) values ($1, $2), ($1, $3)")
                .bind(id)
                .bind(low)
                .bind(high)
                .execute(&mut *tx)
                .await?;
            id
        }
    };
    tx.commit().await?;
    Ok(id)
}

/// The conversation of a class, created on first use; `user` must teach or attend it.
pub async fn class_conversation(
    pool: &PgPool,
    user: Member,
    class_id: i64,
) -> Result<i64, ChatError> {
    let mut tx = pool.begin().await?;
    let in_class: Option<bool> = sqlx::query_scalar(
        "select c.teacher_id = $2 or exists(select 1 from class_members m where m.class_id = c.id and m.student_id = $2)
         from classes c where c.id = $1",
    )
    .bind(class_id)
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    match in_class {
        None => return Err(ChatError::NotFound),
        Some(false) if user.role != Role::Admin => return Err(ChatError::NotFound),
        _ => {}
    }
    let id: i64 = sqlx::query_scalar(
        "insert into conversations (kind, class_id, created_by) values ('class', $1, $2)
         on conflict (class_id) do update set class_id = excluded.class_id returning id",
    )
    .bind(class_id)
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Stores a message and queues its delivery. A retry with the same client message id
/// returns the stored message (`false`: nothing new) instead of a duplicate.
pub async fn send(
    pool: &PgPool,
    sender: Member,
    conversation_id: i64,
    client_message_id: &str,
    body: &str,
) -> Result<(MessageView, bool), ChatError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
        return Err(ChatError::Invalid(
            "Un message contient entre 1 et 4 000 caractères.",
        ));
    }
    if body.contains('\0')
        || client_message_id.is_empty()
        || client_message_id.len() > 100
        || client_message_id.contains('\0')
    {
        return Err(ChatError::Invalid(
            "Identifiant de message ou contenu invalide.",
        ));
    }
    let mut tx = pool.begin().await?;
    if sender.role == Role::Student
        && nexus_database::consent::consent_missing(&mut *tx, sender.id).await?
    {
        return Err(ChatError::ConsentRequired);
    }
    let members = ensure_member(&mut tx, sender, conversation_id).await?;
    // One message of a conversation at a time: ids, `createdAt` (the clock when the lock
    // is held, not when the transaction began) and the delivery events then follow the
    // same order, which is the order every member sees.
    sqlx::query("select 1 from conversations where id = $1 for update")
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
    let inserted: Option<i64> = sqlx::query_scalar(
        "insert into messages (conversation_id, sender_id, client_message_id, body, created_at)
         values ($1, $2, $3, $4, clock_timestamp())
         on conflict (sender_id, client_message_id) do nothing returning id",
    )
    .bind(conversation_id)
    .bind(sender.id)
    .bind(client_message_id)
    .bind(body)
    .fetch_optional(&mut *tx)
    .await?;
    let (id, created) = match inserted {
        Some(id) => (id, true),
        None => {
            let existing: (i64, i64) = sqlx::query_as("select id, conversation_id from messages where sender_id = $1 and client_message_id = $2")
                .bind(sender.id)
                .bind(client_message_id)
                .fetch_one(&mut *tx)
                .await?;
            if existing.1 != conversation_id {
                return Err(ChatError::Invalid(
                    "Cet identifiant de message a déjà servi dans une autre conversation.",
                ));
            }
            (existing.0, false)
        }
    };
    let message: MessageView = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{MESSAGE_VIEW} where m.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if created {
        event(
            &mut tx,
            conversation_id,
            &members,
            json!({"type": "message", "message": message}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((message, created))
}

/// Queues a chat event for every member of the conversation.
async fn event(
    conn: &mut PgConnection,
    conversation_id: i64,
    members: &[i64],
    mut payload: serde_json::Value,
) -> sqlx::Result<()> {
    let event_id = uuid::Uuid::new_v4();
    payload["eventId"] = json!(event_id);
    payload["conversationId"] = json!(conversation_id);
    payload["recipients"] = json!(members);
    payload["createdAt"] = json!(Utc::now());
    nexus_database::outbox::enqueue(conn, event_id, "chat", &payload).await
}

/// Messages of a conversation, newest first, before a message id.
pub async fn history(
    pool: &PgPool,
    reader: Member,
    conversation_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<MessageView>, ChatError> {
    let mut conn = pool.acquire().await?;
    ensure_member(&mut conn, reader, conversation_id).await?;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{MESSAGE_VIEW} where m.conversation_id = $1 and ($2::bigint is null or m.id < $2) order by m.id desc limit $3"
    )))
    .bind(conversation_id)
    .bind(before)
    .bind(limit.clamp(1, 100))
    .fetch_all(&mut *conn)
    .await?)
}

/// An admin reads a conversation they are not in (a report, a family's request): the
/// reading is recorded with its reason in the same transaction, or it does not happen.
/// The caller checks that `admin` is an admin.
pub async fn review(
    pool: &PgPool,
    admin: Member,
    conversation_id: i64,
    reason: &str,
) -> Result<Vec<MessageView>, ChatError> {
    let reason = reason.trim();
    if reason.chars().count() < 10 || reason.chars().count() > 500 || reason.contains('\0') {
        return Err(ChatError::Invalid(
            "Indiquez la raison de cette consultation (10 à 500 caractères).",
        ));
    }
    let mut tx = pool.begin().await?;
    members(&mut tx, conversation_id)
        .await?
        .ok_or(ChatError::NotFound)?;
    sqlx::query(
        "insert into conversation_reviews (conversation_id, admin_id, reason) values ($1, $2, $3)",
    )
    .bind(conversation_id)
    .bind(admin.id)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    let messages = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{MESSAGE_VIEW} where m.conversation_id = $1 order by m.id desc limit 200"
    )))
    .bind(conversation_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(messages)
}

/// Moderation: the class's teacher (or an admin) deletes a message of a class
/// conversation; its text is no longer shown, the deletion is sent to every member.
pub async fn delete(
    pool: &PgPool,
    moderator: Member,
    conversation_id: i64,
    message_id: i64,
) -> Result<(), ChatError> {
    let mut tx = pool.begin().await?;
    let members = members(&mut tx, conversation_id)
        .await?
        .ok_or(ChatError::NotFound)?;
    if !members.contains(&moderator.id) && moderator.role != Role::Admin {
        return Err(ChatError::NotFound);
    }
    let teaches: bool = sqlx::query_scalar(
        "select exists(select 1 from conversations v join classes c on c.id = v.class_id where v.id = $1 and c.teacher_id = $2)",
    )
    .bind(conversation_id)
    .bind(moderator.id)
    .fetch_one(&mut *tx)
    .await?;
    let is_class: bool =
        sqlx::query_scalar("select class_id is not null from conversations where id = $1")
            .bind(conversation_id)
            .fetch_one(&mut *tx)
            .await?;
    if !is_class || (!teaches && moderator.role != Role::Admin) {
        return Err(ChatError::Forbidden);
    }
    let deleted = sqlx::query(
        "update messages set deleted_at = now(), deleted_by = $3 where id = $1 and conversation_id = $2 and deleted_at is null",
    )
    .bind(message_id)
    .bind(conversation_id)
    .bind(moderator.id)
    .execute(&mut *tx)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(ChatError::NotFound);
    }
    event(
        &mut tx,
        conversation_id,
        &members,
        json!({"type": "message_deleted", "messageId": message_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Read receipt: `reader` has read up to `message_id`; the other members are told.
pub async fn mark_read(
    pool: &PgPool,
    reader: Member,
    conversation_id: i64,
    message_id: i64,
) -> Result<(), ChatError> {
    let mut tx = pool.begin().await?;
    let members = ensure_member(&mut tx, reader, conversation_id).await?;
    let exists: bool = sqlx::query_scalar(
        "select exists(select 1 from messages where id = $1 and conversation_id = $2)",
    )
    .bind(message_id)
    .bind(conversation_id)
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        return Err(ChatError::NotFound);
    }
    sqlx::query(
        "insert into conversation_participants (conversation_id, user_id, last_read_message_id) values ($1, $2, $3)
         on conflict (conversation_id, user_id) do update
            set last_read_message_id = greatest(conversation_participants.last_read_message_id, excluded.last_read_message_id)",
    )
    .bind(conversation_id)
    .bind(reader.id)
    .bind(message_id)
    .execute(&mut *tx)
    .await?;
    event(
        &mut tx,
        conversation_id,
        &members,
        json!({"type": "read", "userId": reader.id, "messageId": message_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    pub id: i64,
    /// `class` or `direct`.
    pub kind: String,
    pub class_id: Option<i64>,
    /// The class's name, or the other person's name.
    pub title: String,
    pub last_message_at: Option<DateTime<Utc>>,
    pub unread: i64,
}

/// One's conversations: direct ones, and those of one's classes that exist.
pub async fn conversations_of(
    pool: &PgPool,
    user: Member,
) -> sqlx::Result<Vec<ConversationSummary>> {
    sqlx::query_as(
        "select v.id, v.kind, v.class_id,
                coalesce(c.name, (select u.first_name || ' ' || u.last_name from conversation_participants p
                                  join users u on u.id = p.user_id
                                  where p.conversation_id = v.id and p.user_id <> $1 limit 1), '') as title,
                (select max(m.created_at) from messages m where m.conversation_id = v.id) as last_message_at,
                (select count(*) from messages m where m.conversation_id = v.id and m.sender_id is distinct from $1
                    and m.id > coalesce((select last_read_message_id from conversation_participants p
                                         where p.conversation_id = v.id and p.user_id = $1), 0)) as unread
         from conversations v left join classes c on c.id = v.class_id
         where (v.kind = 'direct' and exists(select 1 from conversation_participants p where p.conversation_id = v.id and p.user_id = $1))
            or (v.kind = 'class' and (c.teacher_id = $1 or exists(select 1 from class_members m where m.class_id = c.id and m.student_id = $1)))
         order by last_message_at desc nulls last, v.id",
    )
    .bind(user.id)
    .fetch_all(pool)
    .await
}
