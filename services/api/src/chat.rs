//! Chat over REST: the conversation list, history, sending (the hub's websocket sends
//! through the same `nexus_chat` functions), moderation and read receipts. Rules in
//! `shared/chat`.

use axum::{extract::State, http::StatusCode};
use nexus_chat::{ChatError, ConversationSummary, Member, MessageView};
use nexus_web::{
    ApiError, ErrorBody, Json, Path, Query,
    auth::CurrentUser,
    error::ApiResult,
    pagination::{PageQuery, Pagination},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{auth::Done, state::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, open_direct))
        .routes(routes!(class_conversation))
        .routes(routes!(list_messages, send_message))
        .routes(routes!(delete_message))
        .routes(routes!(mark_read))
        .routes(routes!(review_conversation))
}

fn member(user: &CurrentUser) -> Member {
    Member {
        id: user.id,
        role: user.role,
    }
}

fn chat_error(error: ChatError) -> ApiError {
    match error {
        ChatError::NotFound => ApiError::not_found("Conversation ou message introuvable."),
        ChatError::Forbidden => ApiError::forbidden(),
        ChatError::ConsentRequired => ApiError::new(
            StatusCode::FORBIDDEN,
            "parental_consent_required",
            nexus_database::consent::CONSENT_REQUIRED_MESSAGE,
        ),
        ChatError::Invalid(message) => ApiError::invalid_fields(vec![("body", message.into())]),
        ChatError::Database(e) => e.into(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationList {
    pub success: bool,
    pub conversations: Vec<ConversationSummary>,
    pub pagination: Pagination,
}

/// One's conversations with their unread counts. Roles: any signed-in user.
#[utoipa::path(get, path = "/api/conversations", tag = "chat",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConversationList),
        (status = 403, body = ErrorBody),
    ))]
async fn list_conversations(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<ConversationList>> {
    let conversations = nexus_chat::conversations_of(&state.pool, member(&user)).await?;
    let (conversations, pagination) = page.slice(conversations);
    Ok(Json(ConversationList {
        success: true,
        conversations,
        pagination,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectRequest {
    /// The person to talk to.
    pub user_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationOpened {
    pub success: bool,
    pub conversation_id: i64,
}

/// Open (or find) the direct conversation with someone one may talk to: a student with
/// their teachers, a parent with their children's teachers, and the other way round.
/// Roles: any signed-in user (refused, 403, between people who may not talk).
#[utoipa::path(post, path = "/api/conversations", tag = "chat",
    request_body = DirectRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConversationOpened),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn open_direct(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<DirectRequest>,
) -> ApiResult<Json<ConversationOpened>> {
    let other: Option<nexus_auth::Role> =
        sqlx::query_scalar("select role from users where id = $1 and is_active")
            .bind(body.user_id)
            .fetch_optional(&state.pool)
            .await?;
    let role = other.ok_or_else(|| ApiError::not_found("Utilisateur introuvable."))?;
    let id = nexus_chat::direct_conversation(
        &state.pool,
        member(&user),
        Member {
            id: body.user_id,
            role,
        },
    )
    .await
    .map_err(chat_error)?;
    Ok(Json(ConversationOpened {
        success: true,
        conversation_id: id,
    }))
}

/// The conversation of a class (created on first use). Roles: its teacher and
/// students, admins.
#[utoipa::path(get, path = "/api/classes/{id}/conversation", tag = "chat",
    params(("id" = i64, Path, description = "Class id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConversationOpened),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn class_conversation(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<ConversationOpened>> {
    let conversation_id = nexus_chat::class_conversation(&state.pool, member(&user), id)
        .await
        .map_err(chat_error)?;
    Ok(Json(ConversationOpened {
        success: true,
        conversation_id,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Messages older than this message id (for the next page).
    pub before: Option<i64>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub success: bool,
    /// Newest first.
    pub messages: Vec<MessageView>,
}

/// A conversation's messages, newest first. Roles: its members (admins read other
/// people's conversations only through the recorded review route).
#[utoipa::path(get, path = "/api/conversations/{id}/messages", tag = "chat",
    params(("id" = i64, Path, description = "Conversation id"), HistoryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessageList),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn list_messages(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<Json<MessageList>> {
    let messages = nexus_chat::history(
        &state.pool,
        member(&user),
        id,
        query.before,
        query.limit.unwrap_or(50),
    )
    .await
    .map_err(chat_error)?;
    Ok(Json(MessageList {
        success: true,
        messages,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMessage {
    /// Chosen by the client; sending again with the same id does not duplicate.
    pub client_message_id: String,
    /// 1 to 4,000 characters.
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageSent {
    pub success: bool,
    pub message: MessageView,
}

/// Send a message (stored before the answer; delivered in real time by the hub).
/// 201 when stored, 200 when this client message id was already stored. Roles: the
/// conversation's members.
#[utoipa::path(post, path = "/api/conversations/{id}/messages", tag = "chat",
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = NewMessage,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessageSent, description = "Already stored (a retry)"),
        (status = 201, body = MessageSent),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn send_message(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<NewMessage>,
) -> ApiResult<(StatusCode, Json<MessageSent>)> {
    let (message, created) = nexus_chat::send(
        &state.pool,
        member(&user),
        id,
        &body.client_message_id,
        &body.body,
    )
    .await
    .map_err(chat_error)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(MessageSent {
            success: true,
            message,
        }),
    ))
}

/// Delete a message of a class conversation (moderation). Roles: the class's teacher,
/// admin.
#[utoipa::path(delete, path = "/api/conversations/{id}/messages/{messageId}", tag = "chat",
    params(("id" = i64, Path, description = "Conversation id"), ("messageId" = i64, Path, description = "Message id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn delete_message(
    user: CurrentUser,
    State(state): State<AppState>,
    Path((id, message_id)): Path<(i64, i64)>,
) -> ApiResult<Json<Done>> {
    nexus_chat::delete(&state.pool, member(&user), id, message_id)
        .await
        .map_err(chat_error)?;
    Ok(Json(Done {
        success: true,
        message: "Message supprimé.".into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadRequest {
    pub message_id: i64,
}

/// Read receipt up to a message; the other members see it. Roles: the conversation's
/// members.
#[utoipa::path(post, path = "/api/conversations/{id}/read", tag = "chat", operation_id = "mark_conversation_read",
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = ReadRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn mark_read(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<ReadRequest>,
) -> ApiResult<Json<Done>> {
    nexus_chat::mark_read(&state.pool, member(&user), id, body.message_id)
        .await
        .map_err(chat_error)?;
    Ok(Json(Done {
        success: true,
        message: "Lu.".into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Why an admin reads this conversation (10 to 500 characters), kept in the record.
    pub reason: String,
}

/// An admin reads a conversation they are not in (a report, a family's request): the
/// last 200 messages, and a record of who read it, when and why. It does not make the
/// admin a member. Roles: admin.
#[utoipa::path(post, path = "/api/conversations/{id}/review", tag = "chat",
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = ReviewRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessageList),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn review_conversation(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<ReviewRequest>,
) -> ApiResult<Json<MessageList>> {
    user.require(&[nexus_auth::Role::Admin])?;
    let messages = nexus_chat::review(&state.pool, member(&user), id, &body.reason)
        .await
        .map_err(|e| match e {
            ChatError::Invalid(message) => {
                ApiError::invalid_fields(vec![("reason", message.into())])
            }
            other => chat_error(other),
        })?;
    tracing::info!(
        admin = user.id,
        conversation_id = id,
        "conversation reviewed by an admin"
    );
    Ok(Json(MessageList {
        success: true,
        messages,
    }))
}
