-- Issue #17, part 1: email verification and parental consent.

-- Email-verification tokens live with the other single-use tokens (hashes only).
alter table auth_tokens drop constraint auth_tokens_token_type_check;
alter table auth_tokens add constraint auth_tokens_token_type_check
    check (token_type in ('refresh', 'reset', 'verify_email'));

-- A student under 15 (CNIL: the age of digital consent in France) uses ARIA and chat
-- only once a linked parent has given consent. One row per student: the parent who gave
-- it. Withdrawing deletes the row; the audit log keeps the history. Unlinking the parent
-- makes the consent void (the check joins parent_links).
create table parental_consents (
    student_id  bigint primary key references users (id) on delete cascade,
    parent_id   bigint not null references users (id) on delete cascade,
    given_at    timestamptz not null default now()
);

-- Who did what to whose data (consent, exports, deletion requests, erasures), for admins.
-- Rows are never updated. actor_id and subject_id are plain ids, not foreign keys: the
-- record of an erasure outlives the account erased.
create table audit_log (
    id          bigint generated always as identity primary key,
    actor_id    bigint,
    actor_role  text,
    action      text not null check (length(action) between 1 and 64),
    subject_id  bigint,
    details     jsonb not null default '{}',
    created_at  timestamptz not null default now()
);
create index audit_log_created_idx on audit_log (created_at desc, id desc);
create index audit_log_subject_idx on audit_log (subject_id);
