-- The outside security audit of 2026-12-02 (docs/SECURITY.md).

-- A teacher adding a student by email no longer enrols them: it invites them, and the
-- student accepts or declines. Until accepted, the teacher sees nothing of the student.
-- An invitation is keyed by the email as typed (normalised), whether or not an account
-- has it, so the teacher's answer never tells which emails are students'.
create table class_invitations (
    id          bigint generated always as identity primary key,
    class_id    bigint not null references classes (id) on delete cascade,
    email       text not null check (length(email) between 3 and 254),
    invited_by  bigint references users (id) on delete set null,
    created_at  timestamptz not null default now(),
    unique (class_id, email)
);
create index class_invitations_email_idx on class_invitations (email);

-- A class's join code can be switched off, and can expire.
alter table classes
    add column join_code_enabled boolean not null default true,
    add column join_code_expires_at timestamptz;

-- Admins are not members of private conversations. When one must read a conversation
-- (a report of harassment, a request from the family), it goes through its own route,
-- which records who read what, when and why; the record is never edited.
create table conversation_reviews (
    id               bigint generated always as identity primary key,
    conversation_id  bigint not null references conversations (id) on delete cascade,
    admin_id         bigint references users (id) on delete set null,
    reason           text not null check (length(reason) between 10 and 500),
    created_at       timestamptz not null default now()
);
create index conversation_reviews_conversation_idx on conversation_reviews (conversation_id);
