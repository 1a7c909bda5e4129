-- Chat between the people who may talk: a conversation per class (its teacher and
-- students) and direct conversations (student ↔ their teachers, parent ↔ their
-- child's teachers). Messages are stored before they are acknowledged; a client
-- message id makes retries idempotent.

create table conversations (
    id          bigint generated always as identity primary key,
    kind        text not null check (kind in ('class', 'direct')),
    class_id    bigint unique references classes (id) on delete cascade,
    created_by  bigint references users (id) on delete set null,
    created_at  timestamptz not null default now(),
    check ((kind = 'class') = (class_id is not null))
);

-- Members of direct conversations; for class conversations, a row appears when a
-- member first reads (it holds their read position).
create table conversation_participants (
    conversation_id       bigint not null references conversations (id) on delete cascade,
    user_id               bigint not null references users (id) on delete cascade,
    joined_at             timestamptz not null default now(),
    last_read_message_id  bigint,
    primary key (conversation_id, user_id)
);
create index conversation_participants_user_idx on conversation_participants (user_id);

create table messages (
    id                 bigint generated always as identity primary key,
    conversation_id    bigint not null references conversations (id) on delete cascade,
    sender_id          bigint references users (id) on delete set null,
    client_message_id  text not null check (length(client_message_id) between 1 and 100),
    body               text not null check (length(body) between 1 and 4000),
    created_at         timestamptz not null default now(),
    deleted_at         timestamptz,
    deleted_by         bigint references users (id) on delete set null,
    unique (sender_id, client_message_id)
);
create index messages_conversation_idx on messages (conversation_id, id desc);
